from dataclasses import replace
from types import SimpleNamespace

import albumentations as A
import lightning as L
import pytest
import timm
import torch
from conftest import TINY, make_cfg
from safetensors.torch import load_file, save_file

from {{ cookiecutter.module_name }}.config import ConfigError
from {{ cookiecutter.module_name }}.cv.fold import build_fold
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.tasks.vision.data import build_transforms
from {{ cookiecutter.module_name }}.tasks.vision.device_augment import augment
from {{ cookiecutter.module_name }}.tasks.vision.models import ImageModel
from {{ cookiecutter.module_name }}.training.callbacks import FreezeBackbone


def test_images_reach_the_network_as_uint8_and_it_normalizes_them_as_albumentations_would(cfg):
    steps = [{"Resize": {"height": 8, "width": 8}}, {"HorizontalFlip": {"p": 1.0}}]
    pipeline = build_transforms(steps, "data.train_transforms", 32)
    assert [type(t).__name__ for t in pipeline.transforms] == ["Resize", "HorizontalFlip", "ToTensorV2"]
    assert isinstance(build_transforms([], "k", 16).transforms[0], A.Resize)
    image = torch.randint(0, 256, (12, 10, 3), dtype=torch.uint8).numpy()
    as_uint8 = pipeline(image=image)["image"]
    assert as_uint8.dtype == torch.uint8 and as_uint8.shape == (3, 8, 8)  # a quarter of float32's bytes

    net = ImageModel(replace(cfg.model, name="resnet18"), num_outputs=3).eval()
    mean, std = net.mean_std
    with_normalize = [*steps, {"Normalize": {"mean": mean, "std": std}}]
    normalized = build_transforms(with_normalize, "data.train_transforms", 32)(image=image)["image"]
    assert torch.allclose(net.normalize(as_uint8[None]), normalized[None], atol=1e-5)
    # A pipeline with its own Normalize hands floats, which the network takes as they are: the same outputs.
    with torch.no_grad():
        assert torch.allclose(net(as_uint8[None]), net(normalized[None]), atol=1e-4)
    assert set(net.state_dict()) == set(net.backbone.state_dict(prefix="backbone.")) | {"head.weight", "head.bias"}


def ramps(n: int, side: int) -> torch.Tensor:
    """n images whose pixels hold their column's x in channel 0 and their row's y in channels 1 and 2."""
    x = torch.arange(side, dtype=torch.float32).expand(side, side)
    return torch.stack([x, x.T, x.T]).expand(n, 3, side, side).clone()


def test_device_crops_take_a_share_of_each_image_at_a_near_square_aspect_and_flips_mirror_about_half():
    torch.manual_seed(0)
    images = ramps(256, 32)
    crops = augment(images, ["crop"], 16, scale=(0.25, 1.0))
    assert crops.shape == (256, 3, 16, 16)
    xs, ys = crops[:, 0, 0], crops[:, 1, :, 0]  # the first row's x, the first column's y
    assert (xs.diff(dim=1) > 0).all() and (ys.diff(dim=1) > 0).all()  # unflipped, within the image
    assert xs.min() >= 0 and xs.max() <= 31 and ys.min() >= 0 and ys.max() <= 31
    # Sampled 16 times across, a crop of w pixels spans 15/16 w between its first and last samples.
    widths, heights = (xs[:, -1] - xs[:, 0]) * 16 / 15, (ys[:, -1] - ys[:, 0]) * 16 / 15
    area, aspect = widths * heights / 32**2, widths / heights
    assert area.min() > 0.25 - 0.02 and area.max() <= 1 + 1e-4 and 0.5 < area.mean() < 0.75  # of 0.25-1
    assert aspect.min() > 3 / 4 - 0.02 and aspect.max() < 4 / 3 + 0.02 and aspect.std() > 0.1
    centres = (xs[:, 0] + xs[:, -1]) / 2
    assert centres.std() > 2  # placed anywhere, not always in the middle
    flipped = augment(images, ["hflip"], 16)
    assert flipped.shape == images.shape  # no crop: the size is kept
    mirrored = torch.tensor([torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images, strict=True)])
    kept = torch.tensor([torch.equal(f, i) for f, i in zip(flipped, images, strict=True)])
    assert (mirrored | kept).all() and 96 < mirrored.sum() < 160  # each image mirrored or not, about half
    assert augment(torch.full((4, 3, 32, 32), 0.7), ["crop", "hflip", "vflip"], 8).allclose(torch.tensor(0.7))


def test_device_crops_of_a_wide_image_keep_their_share_of_the_area():
    torch.manual_seed(0)
    crops = augment(ramps(256, 64)[:, :, :32], ["crop"], 16, scale=(0.6, 1.0))  # 32 rows of 64 columns
    xs, ys = crops[:, 0, 0], crops[:, 1, :, 0]
    area = (xs[:, -1] - xs[:, 0]) * (ys[:, -1] - ys[:, 0]) * (16 / 15) ** 2 / (64 * 32)
    assert area.min() > 0.6 - 0.03 and area.max() <= 1 + 1e-4


def test_a_fold_trains_with_crops_and_flips_on_the_device_and_validates_on_plain_images(digits_dir, tmp_path):
    base = make_cfg(digits_dir, tmp_path, n_folds=3, **TINY)
    resize = [{"Resize": {"height": 24, "width": 24}}]  # the loader hands 24 px uint8 images
    data = replace(
        base.data, image_size=16, train_transforms=resize, valid_transforms=resize, device_augment=["crop", "hflip"]
    )
    cfg = replace(base, data=data)
    seen = BatchShapes()
    metrics = train(cfg, folds=[0], callbacks=[seen])
    assert seen.train == {(64, 3, 16, 16)} and seen.train_dtypes == {torch.float32}  # cropped on the device
    assert seen.valid == {(3, 24, 24)}  # validation is not augmented
    assert metrics["folds"][0] >= 0


class BatchShapes(L.Callback):
    """The shapes (and dtypes) of the images the backbone sees in training, and in validation."""

    def __init__(self):
        self.train, self.train_dtypes, self.valid = set(), set(), set()

    def on_fit_start(self, trainer, pl_module):
        pl_module.net.backbone.register_forward_pre_hook(self.record)

    def record(self, backbone, inputs):
        (image,) = inputs
        if backbone.training:
            self.train.add(tuple(image.shape))
            self.train_dtypes.add(image.dtype)
        else:
            self.valid.add(tuple(image.shape[1:]))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"Rezise": {"height": 8}}], r"'data.train_transforms\[0\]': albumentations has no transform 'Rezise'"),
        ([{"Resize": {"height": 8, "width": 8}}, {"Resize": {"hieght": 8}}], r"'data.train_transforms\[1\]': Resize"),
        (["Resize"], r"'data.train_transforms\[0\]': write each step as one transform name"),
    ],
)
def test_a_bad_pipeline_step_is_named(steps, message):
    with pytest.raises(ValueError, match=message):
        build_transforms(steps, "data.train_transforms", 32)


def test_pretrained_weights_load_from_a_local_file(cfg, tmp_path):
    source = timm.create_model("resnet18", pretrained=False, num_classes=0)
    save_file(source.state_dict(), tmp_path / "resnet18.safetensors")
    model_cfg = replace(
        cfg.model, name="resnet18", pretrained=True, weights_file=str(tmp_path / "resnet18.safetensors")
    )
    net = ImageModel(model_cfg, num_outputs=10)
    assert torch.equal(net.backbone.conv1.weight, source.conv1.weight)
    with pytest.raises(ConfigError, match=r"model\.weights_file'?: .*nope\.pth does not exist"):
        ImageModel(replace(model_cfg, weights_file=str(tmp_path / "nope.pth")), num_outputs=10)


def test_grayscale_channels_last_sgd_onecycle_and_backbone_lr_train_a_fold(digits_dir, tmp_path):
    base = make_cfg(digits_dir, tmp_path, n_folds=3, **TINY)
    cfg = replace(
        base,
        model=replace(base.model, in_chans=1, channels_last=True, drop_rate=0.2, drop_path_rate=0.1),
        optim=replace(base.optim, name="sgd", schedule="onecycle", lr=0.05, backbone_lr=0.01),
    )
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    assert next(iter(data.train_dataloader()))["image"].shape[1] == 1
    trainer.fit(module, datamodule=data)
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert [group["max_lr"] for group in optimizer.param_groups] == [0.01, 0.05]  # backbone, head
    stem, weight = next(iter(module.net.backbone.named_parameters()))  # the first convolution's
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert train(cfg, folds=[0])["folds"][0] >= 0  # the whole fold, exported weights included
    assert load_file(cfg.fold_dir(0) / "model.safetensors")[f"backbone.{stem}"].shape[1] == 1


class Snapshots(L.Callback):
    """The network's weights (and BatchNorm statistics) at the start and at the end of every epoch."""

    def __init__(self):
        self.start, self.end = [], []

    def on_train_epoch_start(self, trainer, pl_module):
        self.start.append({k: v.clone() for k, v in pl_module.net.state_dict().items()})

    def on_train_epoch_end(self, trainer, pl_module):
        self.end.append({k: v.clone() for k, v in pl_module.net.state_dict().items()})


def changed(before: dict, after: dict, prefix: str) -> list[str]:
    return [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_backbone_is_frozen_for_the_first_epoch_then_trains_with_the_schedule(digits_dir, tmp_path, schedule):
    """Three epochs, the first with the backbone frozen: the LR schedule covers the backbone's group from the
    start (Lightning's BackboneFinetuning added a group the schedule did not know, which crashed at unfreezing)."""
    base = make_cfg(digits_dir, tmp_path, n_folds=3, **{**TINY, "max_epochs": 3, "limit_val_batches": 1})
    optim = replace(base.optim, freeze_backbone_epochs=1, schedule=schedule, lr=0.01, backbone_lr=0.002)
    cfg = replace(base, optim=optim)
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    snapshots = Snapshots()
    trainer.callbacks.append(snapshots)
    trainer.fit(module, datamodule=data)
    assert trainer.current_epoch == 3 and trainer.global_step == 12  # 3 epochs of 4 batches
    start, end = snapshots.start, snapshots.end
    assert changed(start[0], end[0], "backbone.") == []  # frozen for epoch 0, BatchNorm statistics too
    assert changed(start[0], end[0], "head.") != []
    stem = f"backbone.{next(iter(module.net.backbone.named_parameters()))[0]}"  # the first convolution
    assert stem in changed(end[0], end[2], "backbone.")  # trained in epochs 1 and 2
    assert stem in changed(start[1], end[1], "backbone.")
    assert all(p.requires_grad for p in module.net.parameters())
    groups = trainer.optimizers[0].param_groups
    assert len(groups) == 2 and {id(p) for p in groups[0]["params"]} == {id(p) for p in module.backbone.parameters()}
    if schedule == "onecycle":
        assert [group["max_lr"] for group in groups] == [0.002, 0.01]  # backbone, head
    else:
        assert [group["initial_lr"] for group in groups] == [0.002, 0.01]


def test_the_freeze_follows_the_epoch_so_a_resumed_fold_matches():
    """Decided at every epoch start from the epoch alone: a fold resumed at epoch 2 trains its backbone, one
    resumed at epoch 0 freezes it (BatchNorm statistics too), whatever ran before in the process."""
    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    module, freeze = SimpleNamespace(backbone=backbone), FreezeBackbone(epochs=2)
    for epoch, frozen in [(2, False), (0, True), (1, True), (2, False)]:
        freeze.on_train_epoch_start(SimpleNamespace(current_epoch=epoch), module)
        assert [p.requires_grad for p in backbone.parameters()] == [not frozen] * 4
        assert backbone[1].track_running_stats is not frozen
