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
from {{ cookiecutter.module_name }}.cv import train
from {{ cookiecutter.module_name }}.data.competition import load_competition
from {{ cookiecutter.module_name }}.fold import build_fold
from {{ cookiecutter.module_name }}.tasks.vision.data import build_transforms
from {{ cookiecutter.module_name }}.tasks.vision.models import ImageModel
from {{ cookiecutter.module_name }}.trainer import FreezeBackbone

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def test_pipeline_from_config_appends_normalize_and_tensor():
    steps = [{"Resize": {"height": 8, "width": 8}}, {"HorizontalFlip": {"p": 1.0}}]
    pipeline = build_transforms(steps, "data.train_transforms", 32, MEAN, STD)
    assert [type(t).__name__ for t in pipeline.transforms] == ["Resize", "HorizontalFlip", "Normalize", "ToTensorV2"]
    normalize = pipeline.transforms[2]
    assert (tuple(normalize.mean), tuple(normalize.std)) == (MEAN, STD)
    assert isinstance(build_transforms([], "k", 16, MEAN, STD).transforms[0], A.Resize)


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
        build_transforms(steps, "data.train_transforms", 32, MEAN, STD)


def test_pretrained_weights_load_from_a_local_file(cfg, tmp_path):
    source = timm.create_model("resnet18", pretrained=False, num_classes=0)
    save_file(source.state_dict(), tmp_path / "resnet18.safetensors")
    model_cfg = replace(cfg.model, pretrained=True, weights_file=str(tmp_path / "resnet18.safetensors"))
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
    assert module.net.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert train(cfg, folds=[0])["folds"][0] >= 0  # the whole fold, exported weights included
    assert load_file(cfg.fold_dir(0) / "model.safetensors")["backbone.conv1.weight"].shape[1] == 1


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
    assert "backbone.conv1.weight" in changed(end[0], end[2], "backbone.")  # trained in epochs 1 and 2
    assert "backbone.conv1.weight" in changed(start[1], end[1], "backbone.")
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
