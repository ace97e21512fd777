"""Images: where each row's image is, a Dataset that reads them, the albumentations
pipelines from the config, and each image shrunk to a few hundred pixels for the scikit-learn floor."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import albumentations as A
import cv2
import numpy as np
import pandas as pd
import torch
from albumentations.pytorch import ToTensorV2
from torch.utils.data import Dataset

from ...config import Config
from ...config.rules import AUTO
from ...run.errors import ConfigError, DataError
from .. import PSEUDO


def read_image(path: Path, channels: int = 3) -> np.ndarray:
    """An HxWxC uint8 array, RGB (channels=3) or grayscale (channels=1), whatever the file holds: gray, RGB,
    RGBA or a palette, 8 or 16 bits, upright by its EXIF orientation (a phone's photo). Deeper images are
    stretched to 0-255 by their own maximum."""
    flags = cv2.IMREAD_ANYDEPTH | (cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
    image = cv2.imread(str(path), flags)
    if image is None:
        reason = "does not exist" if not path.exists() else "is not a readable image"
        raise DataError(
            f"image {path} {reason}: fix or replace it, or set data.skip_bad_rows: true to leave such rows out"
        )
    if image.dtype != np.uint8:  # 16-bit PNG or TIFF, float TIFF
        peak = float(np.abs(image).max())
        image = cv2.convertScaleAbs(image, alpha=255.0 / peak if peak > 0 else 1.0)
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image if image.ndim == 3 else image[:, :, None]


def image_paths(cfg: Config, rows: pd.DataFrame, split: str) -> list[Path]:
    """Each row's image: the config's path template (data.train_image or data.test_image) filled from the row.
    Pseudo-labelled test rows (marked PSEUDO) follow a fold's training rows: theirs are test images."""
    if PSEUDO in rows:
        test = rows[PSEUDO].astype(bool)
        rows = rows.drop(columns=PSEUDO)
        return image_paths(cfg, rows[~test], split) + image_paths(cfg, rows[test], "test")
    key = "test_image" if split == "test" else "train_image"
    template = getattr(cfg.data, key)
    try:
        return [Path(cfg.data.dir) / template.format(**row) for row in rows.to_dict("records")]
    except (KeyError, IndexError, ValueError) as error:
        raise DataError(
            f"config key 'data.{key}': {template!r} cannot be filled from the {split} table's columns "
            f"({', '.join(rows.columns)}): {error!r}"
        ) from None


def thumbnail(path: Path, side: int = 256):
    """A W&B image of at most `side` pixels a side (photos of 4,000 would be uploaded whole), or None where
    the file does not open."""
    import wandb
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((side, side))
            return wandb.Image(image.convert("RGB"), caption=path.name)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def build_transforms(steps: list[dict[str, Any]], key: str, size: int, seed: int | None = None) -> A.Compose:
    """An albumentations pipeline from the config's [{Name: {argument: value}}, ...] list at `key`.

    An empty list resizes to `size`. ToTensorV2 is appended when missing, so a config lists only what it
    changes. Images stay uint8: the network normalizes them on its device (ImageModel.normalize), unless the
    list has its own Normalize. albumentations keeps its own random state, which global seeding does not
    reach: `seed` makes the augmentations repeatable.
    """
    transforms = []
    for index, step in enumerate(steps):
        where = f"config key '{key}[{index}]'"
        if not isinstance(step, dict) or len(step) != 1:
            raise ConfigError(f"{where}: write each step as one transform name mapped to its arguments, not {step!r}")
        ((name, arguments),) = step.items()
        transform = ToTensorV2 if name == "ToTensorV2" else getattr(A, name, None)
        if not isinstance(transform, type):
            raise ConfigError(f"{where}: albumentations has no transform {name!r}")
        # ${data.image_size} in a step reads "auto" where the side is chosen from the images: it is `size`.
        arguments = {name: size if value == AUTO else value for name, value in (arguments or {}).items()}
        try:
            transforms.append(transform(**arguments))
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{where}: {name}: {' '.join(str(error).split())}") from None
    if not transforms:
        transforms.append(A.Resize(size, size))
    if not any(isinstance(t, ToTensorV2) for t in transforms):
        transforms.append(ToTensorV2())
    return A.Compose(transforms, seed=seed)


def config_transforms(cfg: Config, train: bool) -> A.Compose:
    """The config's train pipeline (seeded) or its validation/test pipeline."""
    d = cfg.data
    if train:
        return build_transforms(d.train_transforms, "data.train_transforms", d.image_size, seed=cfg.seed)
    return build_transforms(d.valid_transforms, "data.valid_transforms", d.image_size)


def seed_worker(worker_id: int) -> None:
    """A DataLoader worker_init_fn: Lightning's worker seeding, plus the dataset's albumentations pipeline,
    which would otherwise replay the same augmentations in every worker."""
    from lightning.fabric.utilities.seed import pl_worker_init_function

    pl_worker_init_function(worker_id)
    info = torch.utils.data.get_worker_info()
    info.dataset.transform.set_random_seed(info.seed % 2**32)


class ImageDataset(Dataset):
    """Rows of a competition table; items are {"image": CxHxW uint8 tensor, "target": encoded target, "index": row}."""

    def __init__(
        self,
        paths: list[Path],
        targets: np.ndarray | None,
        transform: A.Compose,
        channels: int = 3,
        blank_size: int | None = None,
        cache=None,
    ):
        self.paths, self.targets, self.transform, self.channels = paths, targets, transform, channels
        self.blank_size = blank_size  # set: an unreadable image becomes a black one of this size
        self.cache = cache  # a cache.ImageCache: the images decoded and resized once, read from memory

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = self.cache.get(self.paths[index]) if self.cache is not None else None
        try:
            if image is None:  # not cached, or it did not decode when cached: read it (and say why it fails)
                image = read_image(self.paths[index], self.channels)
        except DataError:
            if self.blank_size is None:
                raise
            image = np.zeros((self.blank_size, self.blank_size, self.channels), dtype=np.uint8)
        item = {"image": self.transform(image=image)["image"], "index": index}
        if self.targets is not None:
            item["target"] = torch.as_tensor(self.targets[index])
        return item


FLOOR_SIDE = 16  # pixels a side: 256 features a channel, enough for a floor and quick to fit


def floor_pixels(cfg: Config, rows: pd.DataFrame, split: str) -> np.ndarray:
    """[rows, FLOOR_SIDE * FLOOR_SIDE * channels] floats in [0, 1], read in threads (decoding releases the GIL)."""

    def shrink(path) -> np.ndarray:
        try:
            image = read_image(path, cfg.model.in_chans)
        except DataError:
            if not cfg.data.skip_bad_rows:
                raise
            return np.zeros(FLOOR_SIDE * FLOOR_SIDE * cfg.model.in_chans, np.uint8)  # a bad test row: a blank
        return cv2.resize(image, (FLOOR_SIDE, FLOOR_SIDE), interpolation=cv2.INTER_AREA).reshape(-1)

    with ThreadPoolExecutor(8) as pool:
        images = list(pool.map(shrink, image_paths(cfg, rows, split)))
    return np.stack(images).astype(np.float32) / 255.0
