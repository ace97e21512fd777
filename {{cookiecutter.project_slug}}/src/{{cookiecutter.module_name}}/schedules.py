"""The optimizer and its learning-rate schedule, per optimizer step: warmup then cosine or linear decay,
OneCycle, or constant; with SWA's anneal to its own rate on top (swa_lr_factor). No Lightning here."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from .config import Config


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """The learning rate at optimizer step `step`, as a share of the configured one: a linear warmup from 1%,
    then a cosine or linear decay to 0 at step `total`; or constant."""
    if schedule == "constant":
        return 1.0
    if step < warmup:
        return 0.01 + 0.99 * step / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return 0.5 * (1 + math.cos(math.pi * progress)) if schedule == "cosine" else 1 - progress


def swa_lr_factor(step: int, base, start: int, anneal: int, target: float) -> float:
    """The learning rate's factor with averaging.swa_lr: `base` until SWA starts at step `start`; then a cosine
    anneal over `anneal` steps to `target`, kept constant while the weights are averaged."""
    if step < start:
        return base(step)
    done = min((step - start) / max(anneal, 1), 1.0)
    return target + (base(start) - target) * 0.5 * (1 + math.cos(math.pi * done))


def make_optimizer(cfg: Config, groups: list[dict]) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "sgd":
        return torch.optim.SGD(groups, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=True)
    return torch.optim.AdamW(groups, weight_decay=o.weight_decay)


def make_schedule(cfg: Config, optimizer: torch.optim.Optimizer, total: int, epochs: int) -> LRScheduler:
    """The schedule over `total` optimizer steps in `epochs` epochs."""
    o, a = cfg.optim, cfg.averaging
    if o.schedule == "onecycle":
        lrs = [group["lr"] for group in optimizer.param_groups]
        return OneCycleLR(optimizer, max_lr=lrs, total_steps=total, pct_start=max(o.warmup_pct, 0.01))
    warmup = min(max(int(total * o.warmup_pct), 1), total - 1)
    factor = partial(lr_factor, total=total, warmup=warmup, schedule=o.schedule)
    if a.weights == "swa" and a.swa_lr is not None:
        steps_per_epoch = total // max(epochs, 1)
        factor = partial(
            swa_lr_factor,
            base=factor,
            start=a.swa_start_epoch * steps_per_epoch,
            anneal=a.swa_anneal_epochs * steps_per_epoch,
            target=a.swa_lr / o.lr,
        )
    return LambdaLR(optimizer, factor)
