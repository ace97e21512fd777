"""The texts' LightningModules: an encoder with layer-wise learning-rate decay and mixup of its pooled features,
and T5 text-to-text, which learns and predicts by writing the label."""

from __future__ import annotations

import re

import numpy as np
import torch
from timm.data.mixup import mixup_target
from torch import nn
from torch.nn import functional as F

from ...training.module import CompetitionModule
from .models import INPUT_KEYS, text2text_probs

# A parameter inside layer N of a transformer: BERT-likes' encoder.layer.N, T5's encoder.block.N.
LAYER = re.compile(r"\.(?:layer|layers|block)\.(\d+)\.")


def layer_decay_groups(backbone: nn.Module, lr: float, decay: float) -> list[dict]:
    """Layer-wise learning-rate decay: the top layer (and what sits above the layers: final norms, poolers)
    trains at `lr`, each layer below at `decay` times the one above it, the embeddings lowest."""
    depths = {}
    for name, _ in backbone.named_parameters():
        layer = LAYER.search(name)
        depths[name] = int(layer[1]) + 1 if layer else 0 if "embed" in name or "shared" in name else None
    top = max((depth for depth in depths.values() if depth is not None), default=0) + 1
    groups: dict[int, list] = {}
    for name, param in backbone.named_parameters():
        groups.setdefault(top if depths[name] is None else depths[name], []).append(param)
    return [{"params": params, "lr": lr * decay ** (top - depth)} for depth, params in sorted(groups.items())]


class TextModule(CompetitionModule):
    """An encoder with a head: the backbone's rate decays layer by layer when optim.layer_decay is below 1."""

    input_keys = INPUT_KEYS

    def mix(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The pooled features of each row and of its mirror in the batch, mixed by one lambda for the batch,
        with the targets mixed by timm the same way."""
        m, mixup = self.cfg.mixup, self.mixup
        lam = float(np.random.beta(m.mixup_alpha, m.mixup_alpha)) if np.random.rand() < m.prob else 1.0
        features = self.net.features(batch["input_ids"], batch["attention_mask"])
        targets = mixup_target(batch["target"], mixup.num_classes, lam, mixup.label_smoothing, mixup.multi_label)
        return self.net.classify(features * lam + features.flip(0) * (1 - lam)), targets

    def backbone_groups(self, lr: float) -> list[dict]:
        decay = self.cfg.optim.layer_decay
        return super().backbone_groups(lr) if decay == 1 else layer_decay_groups(self.net.backbone, lr, decay)


class Text2TextModule(TextModule):
    """T5 writes the label: token cross-entropy (with label smoothing) to learn, generation to predict."""

    def head_groups(self) -> list[dict]:
        return []  # T5 writes the answer: there is no head

    def token_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self(batch)
        smoothing = self.cfg.optim.label_smoothing
        return F.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), label_smoothing=smoothing)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.token_loss(batch)  # -100, the labels' padding, is skipped
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self.token_loss(batch), prog_bar=True, sync_dist=True)
        self.keep_for_metric(text2text_probs(self.net, batch, self.problem), batch)
