"""Images at real sizes, for bench.py (the vision task's Task.real_inputs): a competition of real-photo JPEGs at
512 and 768 pixels, made from the two photos that ship with scikit-learn, loaded the way training loads it
(RandomResizedCrop to 224 and a flip), from the JPEGs and from the decoded-image cache, by the main process and by
auto workers; and with the crop and flip on the device (data.device_augment), the loader only reading the cache."""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from ..config import Config
from ..cv.split import load_competition
from ..data.workers import MAX_WORKERS, usable_cpus
from ..tasks import get_task
from ..tasks.vision.cache import cache_side
from ..tasks.vision.device_augment import augment
from ..training.loss import make_loss

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
    """`cfg` pointed at a photo competition, with the usual photo pipeline; batches of 16 (the loader's rate
    does not depend on the batch, and 256 photos make 16 of them)."""
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


def fold0(cfg: Config):
    """A fresh network and fold 0's training loader, as training makes them."""
    competition, task = load_competition(cfg), get_task(cfg)
    torch.manual_seed(cfg.seed)
    net = task.build_net(cfg, competition.problem)
    rows = competition.train[competition.train.fold != 0].reset_index(drop=True)
    dataset = task.make_dataset(cfg, net, rows, "train", competition.problem)
    return net, competition.problem, task.loader(cfg, dataset, train=True)


def images_per_second(cfg: Config, batches: int = 6) -> float:
    """Images per second out of fold 0's training DataLoader, after its first batch (workers started)."""
    loader = fold0(cfg)[2]
    iterator = iter(loader)
    next(iterator)
    start, images = time.perf_counter(), 0
    for _ in range(batches):
        images += len(next(iterator)["target"])
    return images / (time.perf_counter() - start)


def model_images_per_second(cfg: Config, device: torch.device, batch: int, steps: int = 2) -> float:
    """Images per second the model trains on (forward, backward, optimizer step) at data.image_size, from uint8
    batches of `batch` in the device's memory, in the config's precision."""
    net, problem, _ = fold0(cfg)
    net.to(device).train()
    optimizer, loss_fn = torch.optim.AdamW(net.parameters(), lr=1e-4), make_loss(problem)
    size, precision = cfg.data.image_size, cfg.trainer.precision
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)
    targets = torch.randint(0, 2, (batch,), device=device)
    autocast = torch.autocast(device.type, torch.bfloat16 if "bf16" in precision else torch.float16)
    times = []
    for _ in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        with autocast if precision.endswith("-mixed") else contextlib.nullcontext():
            loss = loss_fn(net(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return batch / float(np.median(times[1:]))


def on_device(cfg: Config) -> Config:
    """`cfg` with the crop and flip moved from the loader to the device: the loader hands the cache's images."""
    side = cache_side(cfg.data.image_size)
    resize = [{"Resize": {"height": side, "width": side}}]  # a no-op on the cache's images
    data = replace(cfg.data, train_transforms=resize, device_augment=["crop", "hflip"], num_workers=0)
    return replace(cfg, data=data)


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


def real_sizes(cfg: Config, sides: tuple[int, ...] = (512, 768)) -> dict:
    """Per JPEG side: images/s from the JPEGs and from the cache, by the main process and by the workers auto
    starts for a real competition (one per usable CPU but one: 256 photos alone would load in the main
    process), and from the cache with the crop on the device; what the device crops per second; and what the
    model trains on per second (on this machine's device, here from memory on the CPU)."""
    report, workers = {}, max(1, min(usable_cpus() - 1, MAX_WORKERS))
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        for side in sides:
            photos = photo_config(cfg, photo_competition(Path(tmp) / f"photos{side}", side), Path(tmp) / "outputs")
            rates = {}
            for cache in (False, True):
                for name, count in (("0", 0), ("workers", workers)):
                    run = replace(photos, data=replace(photos.data, cache=cache, num_workers=count))
                    rates[f"{'cache' if cache else 'jpeg'}/{name}"] = images_per_second(run)
            rates["device/0"] = images_per_second(on_device(replace(photos, data=replace(photos.data, cache=True))))
            report[side] = rates
        device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
        report["model"] = model_images_per_second(photos, device, cfg.data.batch_size)
        report["device_augment"] = device_images_per_second(on_device(photos), device)
    report["workers"] = workers
    return report


def print_real_sizes(photos: dict) -> None:
    """The loader at real sizes: the cache against decoding, auto workers against none, and the bottleneck."""
    model, workers = photos["model"], photos["workers"]
    print(f"\nImage loader on real-photo JPEGs, RandomResizedCrop to 224 + flip, images/s (the model: {model:.0f}/s)")
    print(f"decode: from the JPEG; cache: from the decoded-image cache; +{workers}w: with the {workers} worker(s) auto")
    print("starts for a real competition here; crop on dev: the loader alone when data.device_augment crops and")
    print("flips on the device (the device's own rate is the last line)")
    columns = ("JPEG side", "decode", "cache", "ratio", f"decode+{workers}w", f"cache+{workers}w", "crop on dev")
    print("  ".join(f"{name:>11}" for name in columns) + "  bottleneck")
    for side, rates in photos.items():
        if not isinstance(side, int):
            continue
        jpeg, cached, jpeg_w, cached_w = (rates[k] for k in ("jpeg/0", "cache/0", "jpeg/workers", "cache/workers"))
        slowest = "the loader" if max(cached, cached_w) < model else "the model"
        row = (side, f"{jpeg:.0f}", f"{cached:.0f}", f"{cached / jpeg:.1f}x", f"{jpeg_w:.0f}", f"{cached_w:.0f}")
        print("  ".join(f"{value:>11}" for value in (*row, f"{rates['device/0']:.0f}")) + f"  {slowest}")
    print(f"the device crops and flips {photos['device_augment']:.0f} images/s (here the CPU, beside the model)")
