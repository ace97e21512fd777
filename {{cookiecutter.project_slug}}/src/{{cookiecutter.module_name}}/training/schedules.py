"""The optimizer and its learning-rate schedule, per optimizer step: warmup then cosine or linear decay, cosine
cycles (warm restarts), OneCycle, or constant; with SWA's anneal to its own rate on top (swa_lr_factor). No
Lightning here."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR

from ..config import Config
from ..config.metrics import Metric

FIRST_CYCLE = 5  # epochs of the first cosine cycle


def cycle_ends(epochs: int, first: int = FIRST_CYCLE) -> list[int]:
    """The epochs at which the cosine cycles of `epochs` end: cycles of 5, 10, 20... epochs (each twice the one
    before), the last one stretched to end at `epochs`; a single cycle below 15 epochs. A fold stops at a
    perfect score, or at the end of a cycle that did not improve (CycleRule): data learnt perfectly stops
    within the first 5 epochs, while the rest still ends with a long, slow anneal."""
    ends, end, length = [], first, first
    while end <= epochs:
        ends.append(end)
        length *= 2
        end += length
    return [*ends[:-1], epochs]


class CycleRule:
    """When cycles stop a fold: at a perfect validation score, or at the end of a cycle whose best score is no
    better (by more than `min_delta`) than the cycles' before it, since the next, longer cycle would restart
    from the full rate for nothing. Only a perfect score stops a fold within the first cycle: its end has
    nothing before it to beat. Used by the trainer's CycleStop and by the hand-written fold of bench_fold.py."""

    def __init__(self, epochs: int, metric: Metric, min_delta: float = 0.0):
        self.checked_ends = cycle_ends(epochs)[:-1]  # the last cycle always runs to its end
        self.metric, self.min_delta = metric, min_delta
        self.best_before: float | None = None  # the best score of the cycles already ended
        self.best: float | None = None
        self.stopped = False
        self.why = ""  # the reason it stopped, in words

    def better(self, score: float, than: float | None, by: float = 0.0) -> bool:
        return than is None or self.metric.sign * (score - than) > by

    def stop_after(self, epoch: int, score: float) -> bool:
        """Whether the fold stops after epoch `epoch` (from 1), validated at `score`; NaN scores are passed over."""
        if math.isfinite(score) and self.better(score, self.best):
            self.best = score
        if math.isfinite(score) and self.metric.is_perfect(score):
            self.stopped, self.why = True, f"a perfect validation score, {score:.4f}"
        elif epoch in self.checked_ends and self.best is not None:
            if self.best_before is not None and not self.better(self.best, self.best_before, self.min_delta):
                self.stopped = True
                self.why = f"the cycle ending here did not beat the best score before it, {self.best_before:.4f}"
            self.best_before = self.best
        return self.stopped


def lr_factor(step: int, total: int, warmup: int, schedule: str, restarts: tuple[int, ...] = ()) -> float:
    """The learning rate at optimizer step `step`, as a share of the configured one: a linear warmup from 1%,
    then a cosine or linear decay to 0 at step `total`; or constant. `restarts`: the steps at which a cosine
    starts again from the full rate (cycles)."""
    if schedule == "constant":
        return 1.0
    if step < warmup:
        return 0.01 + 0.99 * step / warmup
    begin = max((start for start in restarts if start <= step), default=warmup)
    end = min((start for start in restarts if start > step), default=total)
    progress = min((step - begin) / max(end - begin, 1), 1.0)
    return 1 - progress if schedule == "linear" else 0.5 * (1 + math.cos(math.pi * progress))


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
    restarts = ()
    if o.schedule == "cycles":  # restarts at the cycles' ends in steps; warmup_pct is the first cycle's share
        restarts = tuple(round(total * end / epochs) for end in cycle_ends(epochs)[:-1])
    warmup = min(max(int((restarts[0] if restarts else total) * o.warmup_pct), 1), total - 1)
    factor = partial(lr_factor, total=total, warmup=warmup, schedule=o.schedule, restarts=restarts)
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
