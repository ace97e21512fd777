"""The training loop, measured: the same network, data, optimizer, schedule and number of steps run through the
project's LightningModule and Trainer (its callbacks and loggers) and through a plain PyTorch loop, alternated
and repeated in one process; batches fed from memory and through the real DataLoader. Each run's steady state is
the median time between steps after a warm-up; Lightning's start-up (from fit() to its first step) is reported
apart."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader

from ..config import Config
from ..cv.fold import build_fold
from ..training.loggers import finish_wandb_run, make_loggers
from ..training.schedules import lr_factor


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepTimer(L.Callback):
    """The time at the start of every training step (the GPU drained first, so a step's time is its own)."""

    def __init__(self):
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        _sync(pl_module.device)
        self.times.append(time.perf_counter())


def steady(times: list[float], warmup: int) -> float:
    """The median seconds per step after `warmup` steps."""
    return statistics.median(np.diff(times[warmup:]))


def _fresh(cfg: Config, competition, out: Path, logging: bool = False):
    """Fold 0 built the way train.py builds it (with its loggers when `logging`), under `out`, validation
    off: only training steps are timed."""
    trainer = replace(cfg.trainer, limit_val_batches=0, num_sanity_val_steps=0)
    cfg = replace(cfg, output_dir=str(out), trainer=trainer)
    loggers = make_loggers(cfg, 0, cfg.fold_dir(0)) if logging else None
    module, data, trainer, _ = build_fold(cfg, competition, 0, loggers)
    return module, data, trainer


def lightning_run(cfg: Config, competition, batches, steps: int) -> tuple[float, list[float]]:
    """Lightning's start-up (fit() to the first step) and its step times; batches: an iterable or None for
    the fold's own DataLoader."""
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_steps=steps, max_epochs=-1, limit_train_batches=None))
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        module, data, trainer = _fresh(cfg, competition, Path(tmp), logging=True)
        timer = StepTimer()
        trainer.callbacks.append(timer)
        start = time.perf_counter()
        try:
            trainer.fit(module, datamodule=data) if batches is None else trainer.fit(module, train_dataloaders=batches)
        finally:
            finish_wandb_run()
    return timer.times[0] - start, timer.times


def plain_run(cfg: Config, competition, batches, steps: int, device: torch.device) -> list[float]:
    """A hand-written loop over the same network, loss, optimizer and schedule: the baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        module, data, _ = _fresh(cfg, competition, Path(tmp))
    o = cfg.optim
    optimizer = torch.optim.AdamW(module.param_groups(), weight_decay=o.weight_decay)
    schedule = LambdaLR(optimizer, partial(lr_factor, total=steps, warmup=max(1, steps // 10), schedule=o.schedule))
    module.to(device).train()
    source = batches if batches is not None else data.train_dataloader()
    precision = cfg.trainer.precision  # the same autocast as Lightning's mixed precision
    autocast = partial(torch.autocast, device.type, torch.bfloat16 if "bf16" in precision else torch.float16)
    times = []
    while len(times) < steps:
        for batch in source:
            if len(times) == steps:
                break
            _sync(device)
            times.append(time.perf_counter())
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            with autocast(enabled=precision.endswith("-mixed")):
                loss = module.loss_fn(module(batch), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return times


def memory_batches(cfg: Config, competition, count: int) -> DataLoader:
    """`count` batches of the training loader, made once and kept: training from memory. (A DataLoader that
    hands them out as they are, since Lightning reads a list as several loaders.)"""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        _, data, _ = _fresh(cfg, competition, Path(tmp))
    batches = []
    while len(batches) < count:
        batches.extend(data.train_dataloader())
    return DataLoader(batches[:count], batch_size=None)


def loop_overhead(cfg: Config, competition, device: torch.device, steps: int, repeats: int, warmup: int) -> dict:
    """Median steady-state seconds per step of each loop and source, and their ratios, over `repeats`; with
    each ratio, its range over the repeats (each repeat ran both loops back to back: its own ratio)."""
    memory = memory_batches(cfg, competition, steps)
    runs: dict[str, list[float]] = {}
    startup = []
    for _ in range(repeats):  # alternated, so a slow spell of the machine hits both loops
        for source, batches in (("memory", memory), ("pipeline", None)):
            seconds, times = lightning_run(cfg, competition, batches, steps)
            startup.append(seconds)
            runs.setdefault(f"lightning/{source}", []).append(steady(times, warmup))
            runs.setdefault(f"plain/{source}", []).append(
                steady(plain_run(cfg, competition, batches, steps, device), warmup)
            )
    result = {name: statistics.median(values) for name, values in runs.items()}
    for source in ("memory", "pipeline"):
        result[f"ratio/{source}"] = result[f"lightning/{source}"] / result[f"plain/{source}"]
        ratios = [a / b for a, b in zip(runs[f"lightning/{source}"], runs[f"plain/{source}"], strict=True)]
        result[f"ratio_range/{source}"] = [min(ratios), max(ratios)]
    result["lightning_startup_s"] = statistics.median(startup)
    result["batch_size"], result["steps"], result["repeats"] = cfg.data.batch_size, steps, repeats
    return result
