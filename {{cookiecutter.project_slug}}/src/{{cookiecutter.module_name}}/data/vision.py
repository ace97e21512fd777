"""Images: a Dataset that reads a competition's images, and the albumentations pipelines."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from albumentations.pytorch import ToTensorV2
from torch.utils.data import Dataset

from ..config import Config


def read_image(path: Path) -> np.ndarray:
    """An HxWx3 uint8 RGB array, whatever the file holds (grayscale, RGB or RGBA)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        reason = "does not exist" if not path.exists() else "is not a readable image"
        raise FileNotFoundError(f"image {path} {reason}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def build_transforms(cfg: Config, train: bool, mean: tuple, std: tuple) -> A.Compose:
    size = cfg.data.image_size
    augment = (
        [
            A.Affine(scale=(0.9, 1.1), translate_percent=(-0.08, 0.08), rotate=(-10, 10), p=0.7),
        ]
        if train
        else []
    )
    return A.Compose([A.Resize(size, size), *augment, A.Normalize(mean=mean, std=std), ToTensorV2()])


class ImageDataset(Dataset):
    """Rows of a competition table; items are {"image": CxHxW float tensor, "target": encoded target}."""

    def __init__(self, paths: list[Path], targets: np.ndarray | None, transform: A.Compose):
        self.paths, self.targets, self.transform = paths, targets, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {"image": self.transform(image=read_image(self.paths[index]))["image"]}
        if self.targets is not None:
            item["target"] = torch.as_tensor(self.targets[index])
        return item
