"""The vision task: a timm backbone with a head, images read and augmented by albumentations, timm's
mixup and cutmix, and test-time augmentation by flips and rotations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from ...config import Config
from ...problem import Problem
from ...tta import tta_predict
from .. import Task
from . import auto, floor
from .cache import open_cache
from .data import ImageDataset, bad_images, config_transforms, image_paths, seed_worker, thumbnail
from .device_augment import augment
from .models import ImageModel, check_model


class VisionTask(Task):
    input_keys = ("image",)
    drops_last_batch = True  # an odd last batch of one image breaks BatchNorm and timm's batch mixup
    # A CNN trained from scratch on a few thousand images learns for tens of epochs; with cosine cycles
    # (configs/vision.yaml) data that is learnt sooner, as the demo is, stops after the first 5.
    cpu_steps = 400
    has_tta = True
    real_sizes = (512, 768)  # JPEG sides

    def check_can_run(self, cfg: Config) -> None:
        check_model(cfg.model)

    def bad_inputs(self, cfg: Config, rows: pd.DataFrame, split: str, decode: bool) -> pd.Series:
        return bad_images(pd.Series(image_paths(cfg, rows, split), index=rows.index), decode)

    def build_net(self, cfg: Config, problem: Problem) -> nn.Module:
        return ImageModel(cfg.model, problem.num_outputs)

    def make_dataset(
        self, cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem, targets: np.ndarray | None = None
    ) -> Dataset:
        targets = problem.encode(rows) if problem and targets is None else targets
        transform = config_transforms(cfg, split == "train")
        # Test rows whose image did not read were kept on purpose (data.skip_bad_rows): a blank image stands in.
        blank = cfg.data.image_size if split == "test" and cfg.data.skip_bad_rows else None
        cache = open_cache(cfg, split)
        return ImageDataset(image_paths(cfg, rows, split), targets, transform, cfg.model.in_chans, blank, cache)

    def loader_options(self, cfg: Config, dataset: Dataset, train: bool, batch_size: int) -> dict[str, Any]:
        # Each worker's augmentations seeded apart: albumentations would otherwise replay them in every worker.
        return {"worker_init_fn": seed_worker} if train else {}  # called only where there are workers

    def reseed(self, dataset: Dataset, seed: int) -> None:
        if isinstance(dataset, ImageDataset):  # not batches held in memory (bench.py)
            dataset.transform.set_random_seed(seed)  # albumentations keeps its own generator

    def augment_on_device(self, net: nn.Module, cfg: Config, batch: dict) -> dict:
        if not cfg.data.device_augment:
            return batch
        d = cfg.data  # normalized first: a crop's interpolation needs floats, and the network takes floats as is
        images = augment(net.normalize(batch["image"]), d.device_augment, d.image_size, tuple(d.device_crop_scale))
        return {**batch, "image": images}

    def mix(self, net, mixup, cfg: Config, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        # Mixing weighs pixels: floats, normalized (a linear map, so mixing commutes with it).
        images, targets = mixup(net.normalize(batch["image"]), batch["target"])
        return net(images), targets

    def auto_choices(self) -> list:
        return auto.CHOICES

    def examples(self, cfg: Config, rows: pd.DataFrame) -> list:
        return [thumbnail(path) for path in image_paths(cfg, rows, "train")]

    def floor_inputs(self, cfg: Config, rows: pd.DataFrame, split: str) -> Any:
        return floor.pixels(cfg, rows, split)

    def floor_steps(self, cfg: Config, model: str) -> list:
        return floor.steps(model)

    def floor_description(self, cfg: Config, model: str) -> str:
        return floor.description(cfg)

    def bench_real_sizes(self, cfg: Config, sizes: tuple[int, ...]) -> dict:
        from .bench import loader_at_real_sizes  # scikit-learn's photos, only for bench.py

        return loader_at_real_sizes(cfg, sizes)

    def print_real_sizes(self, report: dict) -> None:
        from .bench import print_photos

        print_photos(report)

    def predict_batch(self, net: nn.Module, batch: dict, problem: Problem, views=("identity",)) -> torch.Tensor:
        return tta_predict(net, batch["image"], list(views), problem.activate)


TASK = VisionTask()
