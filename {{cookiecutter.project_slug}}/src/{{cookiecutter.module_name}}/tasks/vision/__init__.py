"""The vision task: a timm backbone with a head, images read and augmented by albumentations, timm's
mixup and cutmix (tasks/vision/module.py), and test-time augmentation by flips and rotations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from ...config import Config
from ...data.problem import Problem
from .. import Task
from . import auto
from .cache import open_cache
from .data import (
    FLOOR_SIDE,
    ImageDataset,
    config_transforms,
    floor_pixels,
    image_paths,
    seed_worker,
    thumbnail,
)
from .files import bad_images
from .models import INPUT_KEYS, ImageModel, check_model
from .tta import tta_predict


class VisionTask(Task):
    input_keys = INPUT_KEYS
    drops_last_batch = True  # an odd last batch of one image breaks BatchNorm and timm's batch mixup
    # A CNN trained from scratch on a few thousand images learns for tens of epochs; with cosine cycles
    # (configs/vision.yaml) data that is learnt sooner, as the demo is, stops after the first 5.
    cpu_steps = 400
    has_tta = True
    real_inputs, real_sizes = "photos", (512, 768)  # JPEG sides

    def check_can_run(self, cfg: Config) -> None:
        check_model(cfg.model)

    def bad_inputs(self, cfg: Config, rows: pd.DataFrame, split: str, decode: bool) -> pd.Series:
        return bad_images(pd.Series(image_paths(cfg, rows, split), index=rows.index), decode)

    def build_net(self, cfg: Config, problem: Problem) -> nn.Module:
        return ImageModel(cfg.model, problem.num_outputs)

    def make_module(self, net: nn.Module, cfg: Config, problem: Problem):
        from .module import VisionModule  # Lightning: not needed to predict

        return VisionModule(net, cfg, problem)

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

    def predict_batch(self, net: nn.Module, batch: dict, problem: Problem, views=("identity",)) -> torch.Tensor:
        return tta_predict(net, batch["image"], list(views), problem.activate)

    def auto_choices(self) -> list:
        return auto.CHOICES

    def examples(self, cfg: Config, rows: pd.DataFrame) -> list:
        return [thumbnail(path) for path in image_paths(cfg, rows, "train")]

    def floor_inputs(self, cfg: Config, rows: pd.DataFrame, split: str) -> Any:
        return floor_pixels(cfg, rows, split)

    def floor_steps(self, cfg: Config, model: str) -> list:
        from sklearn.preprocessing import StandardScaler

        return [StandardScaler()] if model == "linear" else []  # trees need no scaling

    def floor_description(self, cfg: Config, model: str) -> str:
        return f"{FLOOR_SIDE}x{FLOOR_SIDE} pixels, {'gray' if cfg.model.in_chans == 1 else 'RGB'}"


TASK = VisionTask()
