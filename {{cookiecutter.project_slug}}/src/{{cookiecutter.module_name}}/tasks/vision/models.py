"""A timm backbone with a linear head: a plain nn.Module that loads without Lightning."""

from __future__ import annotations

import difflib

import timm
import torch
from timm.models import parse_model_name
from torch import nn

from ...config import ModelConfig
from ...run.errors import ConfigError
from ...run.paths import not_a

INPUT_KEYS = ("image",)  # what ImageModel.forward takes from a batch


def check_model(cfg: ModelConfig) -> None:
    """Refuse, before anything is written, a model name timm does not have, or a weights file that is missing."""
    source, name = parse_model_name(cfg.name)
    if source is None and not timm.is_model(name):  # hf-hub: and local-dir: names are timm's to resolve
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        raise ConfigError(
            f"config key 'model.name': timm has no model {cfg.name!r}"
            + (f"; did you mean {', '.join(close)}?" if close else "; timm.list_models('*resnet*') lists them")
        )
    if cfg.pretrained and cfg.weights_file and (problem := not_a(cfg.weights_file, "file")) is not None:
        raise ConfigError(f"config key 'model.weights_file': {problem}")
    if cfg.small_input is True and not has_pool_stem(cfg.name):
        raise ConfigError(f"config key 'model.small_input': {cfg.name} has no stem max-pool to take out")


def pool_stem(backbone: nn.Module) -> bool:
    """Whether a timm backbone has a ResNet-style stem max-pool, which model.small_input takes out."""
    return isinstance(getattr(backbone, "maxpool", None), nn.MaxPool2d)


def has_pool_stem(name: str) -> bool:
    return pool_stem(timm.create_model(name, pretrained=False))


class ImageModel(nn.Module):
    def __init__(self, cfg: ModelConfig, num_outputs: int):
        super().__init__()
        overlay = {}
        if cfg.pretrained and cfg.weights_file:
            check_model(cfg)
            overlay = {"pretrained_cfg_overlay": {"file": str(cfg.weights_file)}}  # timm reads it instead of the hub
        # num_classes=0 leaves timm's pooling and dropout in place and drops its classifier, so the
        # backbone and the head can get their own learning rates or be frozen apart.
        self.backbone = timm.create_model(
            cfg.name,
            pretrained=cfg.pretrained,
            num_classes=0,
            in_chans=cfg.in_chans,
            drop_rate=cfg.drop_rate,
            drop_path_rate=cfg.drop_path_rate,
            **overlay,
        )
        if cfg.small_input is True:  # small images: the first stage sees twice the side (tasks/vision/auto.py)
            if not pool_stem(self.backbone):
                raise ConfigError(f"config key 'model.small_input': {cfg.name} has no stem max-pool to take out")
            self.backbone.maxpool = nn.Identity()
        self.head = nn.Linear(self.backbone.num_features, num_outputs)
        self.in_chans = cfg.in_chans
        self.channels_last = cfg.channels_last
        # Images come as uint8 (4x fewer bytes from the loader and over PCIe) and are normalized here, on the
        # network's device. Not saved with the weights: they follow the backbone's pretrained config.
        mean, std = (torch.tensor(values).view(1, -1, 1, 1) for values in self.mean_std)
        # (x / 255 - mean) / std as one multiply and one add
        self.register_buffer("pixel_scale", 1 / (255 * std), persistent=False)
        self.register_buffer("pixel_shift", -mean / std, persistent=False)
        if cfg.channels_last:
            self.to(memory_format=torch.channels_last)
        if cfg.compile:
            self.compile()  # in place: the state_dict keeps its names, so weights load into a plain model

    @property
    def mean_std(self) -> tuple[tuple, tuple]:
        """The normalisation the backbone was (or would have been) pretrained with, per input channel."""
        config = self.backbone.pretrained_cfg
        mean, std = tuple(config["mean"]), tuple(config["std"])
        if self.in_chans != len(mean):  # timm averages an RGB stem into one channel the same way
            mean, std = (sum(mean) / len(mean),) * self.in_chans, (sum(std) / len(std),) * self.in_chans
        return mean, std

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """uint8 images (0-255) as floats normalized by the backbone's mean and std. Floats are taken as already
        normalized: a pipeline that lists its own Normalize, or a batch this method has seen."""
        if image.dtype != torch.uint8:
            return image
        return image.float().mul_(self.pixel_scale).add_(self.pixel_shift)  # float() keeps the memory format

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if self.channels_last:  # converted while uint8: a quarter of the bytes to move
            image = image.contiguous(memory_format=torch.channels_last)
        return self.head(self.backbone(self.normalize(image)))
