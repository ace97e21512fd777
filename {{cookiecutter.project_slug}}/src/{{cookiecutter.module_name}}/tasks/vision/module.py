"""The images' LightningModule: the batch's image, crops and flips on the device (data.device_augment), timm's
mixup and cutmix on normalized pixels, and the albumentations pipeline reseeded every epoch."""

from __future__ import annotations

import torch

from ...training.module import CompetitionModule
from .data import ImageDataset
from .device_augment import augment
from .models import INPUT_KEYS


class VisionModule(CompetitionModule):
    input_keys = INPUT_KEYS

    def augment(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        d = self.cfg.data
        if not d.device_augment:
            return batch
        # Normalized first: a crop's interpolation needs floats, and the network takes floats as they are.
        images = augment(self.net.normalize(batch["image"]), d.device_augment, d.image_size, tuple(d.device_crop_scale))
        return {**batch, "image": images}

    def mix(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        # Mixing weighs pixels: floats, normalized (a linear map, so mixing commutes with it).
        images, targets = self.mixup(self.net.normalize(batch["image"]), batch["target"])
        return self.net(images), targets

    def reseed(self, dataset, seed: int) -> None:
        if isinstance(dataset, ImageDataset):  # not batches held in memory (bench.py)
            dataset.transform.set_random_seed(seed)  # albumentations keeps its own generator
