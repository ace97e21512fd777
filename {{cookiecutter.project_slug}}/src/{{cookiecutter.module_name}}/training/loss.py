"""The training loss of each problem type, with label smoothing, and timm's mixup and cutmix, which mix the targets
as they mix the inputs.

    multiclass  cross-entropy (label smoothing)           mixed: timm's soft-target cross-entropy
    binary      binary cross-entropy on the logit          mixed: the same, on the mixed 0/1 targets
    multilabel  binary cross-entropy per label
    regression  mean squared error                         mixed: the same, on the mixed values

Change the loss here: `make_loss` is what every fold trains with (training/module.py), and what the bench's
hand-written loops train with too.
"""

from __future__ import annotations

import torch
from timm.data import Mixup
from timm.loss import SoftTargetCrossEntropy
from torch import nn
from torch.nn import functional as F

from ..config import Config
from ..data.problem import Problem


def make_loss(problem: Problem, label_smoothing: float = 0.0) -> nn.Module:
    """The loss of clean batches: outputs [rows, outputs] against problem.encode's targets."""
    if problem.kind == "multiclass":
        return nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if problem.is_classification:
        return SmoothedBCEWithLogits(label_smoothing)
    return nn.MSELoss()


def make_mixed_loss(problem: Problem) -> nn.Module:
    """The loss of mixed batches, whose targets are soft and already smoothed by Mixup."""
    return SoftTargetCrossEntropy() if problem.kind == "multiclass" else make_loss(problem, 0.0)


class SmoothedBCEWithLogits(nn.Module):
    """Binary cross-entropy whose 0/1 targets are pulled towards 0.5 by `smoothing`, as label smoothing does."""

    def __init__(self, smoothing: float = 0.0):
        super().__init__()
        self.smoothing = smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        targets = targets.float() * (1 - self.smoothing) + 0.5 * self.smoothing
        return F.binary_cross_entropy_with_logits(logits.float(), targets)


def make_mixup(cfg: Config, problem: Problem) -> Mixup | None:
    """timm's Mixup/CutMix, which also applies the label smoothing; None when both alphas are 0."""
    m = cfg.mixup
    if not m.enabled:
        return None
    return Mixup(
        mixup_alpha=m.mixup_alpha,
        cutmix_alpha=m.cutmix_alpha,
        prob=m.prob,
        switch_prob=m.switch_prob,
        mode=m.mode,
        label_smoothing=cfg.optim.label_smoothing if problem.is_classification else 0.0,
        num_classes=problem.num_outputs,  # timm's default of 1000 would be wrong
        multi_label=problem.kind != "multiclass",  # dense targets: 0/1 labels or regression values
    )
