"""The image loader at real sizes: a competition of real-photo JPEGs at 512 and 768 pixels, made from the two
photos that ship with scikit-learn, loaded the way training loads it (RandomResizedCrop to 224 and a flip),
from the JPEGs and from the decoded-image cache, by the main process and by auto workers; and with the crop
and flip on the device (data.device_augment), the loader only reading the cache."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from .config import Config
from .data.competition import load_competition
from .fold import build_module_and_data
from .tasks.vision.cache import cache_side
from .tasks.vision.device import augment

PHOTO_ROWS = 256  # images per competition: enough batches to time, few enough to write in seconds


def photo_competition(folder: Path, side: int, rows: int = PHOTO_ROWS, seed: int = 0) -> Path:
    """`rows` JPEGs (quality 90) of side x side pixels: random crops of china.jpg and flower.jpg, labelled by photo."""
    from sklearn.datasets import load_sample_images

    photos, rng = load_sample_images().images, np.random.default_rng(seed)
    (folder / "train").mkdir(parents=True, exist_ok=True)
    labels = []
    for index in range(rows):
        label = index % 2
        photo = photos[label]
        crop = int(rng.integers(min(photo.shape[:2]) // 2, min(photo.shape[:2])))
        y, x = (int(rng.integers(0, photo.shape[axis] - crop + 1)) for axis in (0, 1))
        image = cv2.resize(photo[y : y + crop, x : x + crop], (side, side), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / "train" / f"{index}.jpg"), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        labels.append(label)
    pd.DataFrame({"id": range(rows), "label": labels}).to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"id": [0], "label": [0]}).to_csv(folder / "sample_submission.csv", index=False)
    pd.DataFrame({"id": [0]}).to_csv(folder / "test.csv", index=False)
    return folder


def photo_config(cfg: Config, folder: Path, output_dir: Path, size: int = 224) -> Config:
    """`cfg` pointed at a photo competition, with the usual photo pipeline."""
    crop = [{"RandomResizedCrop": {"size": [size, size], "scale": [0.35, 1.0]}}, {"HorizontalFlip": {"p": 0.5}}]
    data = replace(
        cfg.data,
        dir=str(folder),
        train_image="train/{id}.jpg",
        test_image="train/{id}.jpg",
        image_size=size,
        train_transforms=crop,
        valid_transforms=[{"Resize": {"height": size, "width": size}}],
        batch_size=16,
        skip_bad_rows=False,
    )
    model = replace(cfg.model, in_chans=3)
    return replace(
        cfg, task="vision", data=data, model=model, output_dir=str(output_dir), cv=replace(cfg.cv, n_folds=2)
    )


def images_per_second(cfg: Config, batches: int = 6) -> float:
    """Images per second out of fold 0's training DataLoader, after its first batch (workers started)."""
    _, data = build_module_and_data(cfg, load_competition(cfg), 0)
    loader = data.train_dataloader()
    iterator = iter(loader)
    next(iterator)
    start, images = time.perf_counter(), 0
    for _ in range(batches):
        images += len(next(iterator)["target"])
    return images / (time.perf_counter() - start)


def model_images_per_second(cfg: Config, steps: int = 3) -> float:
    """Images per second the model trains on (forward, backward, optimizer step) at data.image_size, from memory."""
    module, _ = build_module_and_data(cfg, load_competition(cfg), 0)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
    size, batch = cfg.data.image_size, cfg.data.batch_size
    images, targets = torch.randn(batch, 3, size, size), torch.randint(0, 2, (batch,))
    times = []
    for _ in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        loss = module.loss_fn(module.net(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return batch / float(np.median(times[1:]))


def on_device(cfg: Config) -> Config:
    """`cfg` with the crop and flip moved from the loader to the device: the loader hands the cache's images."""
    side = cache_side(cfg.data.image_size)
    resize = [{"Resize": {"height": side, "width": side}}]  # a no-op on the cache's images
    return replace(cfg, data=replace(cfg.data, train_transforms=resize, device_augment=["crop", "hflip"]))


def device_images_per_second(cfg: Config, device: torch.device, repeats: int = 5) -> float:
    """Images per second `augment` crops and flips on `device`, from uint8 batches of the cache's side."""
    side, batch = cache_side(cfg.data.image_size), cfg.data.batch_size
    images = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8, device=device)
    times = []
    for _ in range(repeats + 1):  # the first warms up
        start = time.perf_counter()
        augment(images.float(), ["crop", "hflip"], cfg.data.image_size, tuple(cfg.data.device_crop_scale))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return batch / float(np.median(times[1:]))


def loader_at_real_sizes(cfg: Config, sides: tuple[int, ...] = (512, 768)) -> dict:
    """Per JPEG side: images/s from the JPEGs and from the cache, with no workers and with auto workers, and
    from the cache with the crop on the device; what the device crops per second; and what the model trains
    on per second (on this machine's device, here from memory on the CPU)."""
    report = {}
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        for side in sides:
            photos = photo_config(cfg, photo_competition(Path(tmp) / f"photos{side}", side), Path(tmp) / "outputs")
            rates = {}
            for cache in (False, True):
                for workers in (0, "auto"):
                    run = replace(photos, data=replace(photos.data, cache=cache, num_workers=workers))
                    rates[f"{'cache' if cache else 'jpeg'}/{workers}"] = images_per_second(run)
            rates["device/0"] = images_per_second(on_device(replace(photos, data=replace(photos.data, cache=True))))
            report[side] = rates
        report["model"] = model_images_per_second(photos)
        device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
        report["device_augment"] = device_images_per_second(on_device(photos), device)
    return report
