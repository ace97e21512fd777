"""A timm backbone with a linear head: a plain nn.Module that loads without Lightning."""

from __future__ import annotations

import timm
import torch
from torch import nn

from ..config import ModelConfig


class ImageModel(nn.Module):
    def __init__(self, cfg: ModelConfig, num_outputs: int):
        super().__init__()
        # num_classes=0 leaves timm's pooling and dropout in place and drops its classifier, so the
        # backbone and the head can get their own learning rates or be frozen apart.
        self.backbone = timm.create_model(
            cfg.name,
            pretrained=cfg.pretrained,
            num_classes=0,
            in_chans=cfg.in_chans,
            drop_rate=cfg.drop_rate,
            drop_path_rate=cfg.drop_path_rate,
        )
        self.head = nn.Linear(self.backbone.num_features, num_outputs)

    @property
    def mean_std(self) -> tuple[tuple, tuple]:
        """The normalisation the backbone was (or would have been) pretrained with."""
        config = self.backbone.pretrained_cfg
        return tuple(config["mean"]), tuple(config["std"])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(image))
