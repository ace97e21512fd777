"""How fast this machine trains and predicts, measured, not guessed.

- The training loop: the same network, data, optimizer, schedule and number of steps run through the
  project's LightningModule and Trainer (its callbacks and loggers) and through a plain PyTorch loop,
  alternated and repeated in one process; batches fed from memory and through the real DataLoader. Each
  run's steady state is the median time between steps after a warm-up; Lightning's start-up (from fit()
  to its first step) is reported apart.
- The data pipeline alone (images or tokens per second) against the model's step time from memory.
- Prediction with TTA: k views against one.
- Texts: dynamic padding and length grouping against padding every batch to data.max_length.
- The task's inputs at real sizes (tasks/<task>/bench.py): 512 and 768 px JPEGs{% if cookiecutter.task != "vision" %}, 512-token essays{% endif %}.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import DataLoader

from .auto import resolve_but_lr
from .config import Config
from .data.competition import load_competition
from .fold import build_fold
from .inference import predict_loader
from .schedules import lr_factor
from .tasks import get_task
from .tracking import finish_wandb_run, make_loggers
from .tta import VIEWS


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


def pipeline_throughput(cfg: Config, competition, batches: int) -> dict:
    """Items (and tokens, for texts) per second out of the training DataLoader alone."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        _, data, _ = _fresh(cfg, competition, Path(tmp))
    loader, items, tokens = data.train_dataloader(), 0, 0
    iterator = iter(loader)
    next(iterator)  # workers started, first batch made: start-up, not throughput
    start = time.perf_counter()
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        items += len(batch["target"])
        tokens += int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0
    seconds = time.perf_counter() - start
    return {"items_per_s": items / seconds, **({"tokens_per_s": tokens / seconds} if tokens else {})}


def tta_cost(cfg: Config, competition, device: torch.device, repeats: int) -> dict:
    """Seconds to predict the validation fold with every D4 view against the identity alone."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        module, data, _ = _fresh(cfg, competition, Path(tmp))
    views = list(VIEWS)

    def seconds(views: list[str]) -> float:
        start = time.perf_counter()
        predict_loader(module.task, module.net, data.val_dataloader(), competition.problem, views, device)
        _sync(device)
        return time.perf_counter() - start

    seconds(["identity"])  # warm-up
    one = statistics.median(seconds(["identity"]) for _ in range(repeats))
    all_views = statistics.median(seconds(views) for _ in range(repeats))
    return {"views": len(views), "one_view_s": one, "all_views_s": all_views, "ratio": all_views / one}


def padding_cost(cfg: Config, competition, steps: int, warmup: int) -> dict:
    """Texts: seconds per training step with dynamic padding and length grouping, and with every batch
    padded to data.max_length."""
    result = {}
    for name, data in (
        ("dynamic", replace(cfg.data, padding="dynamic", group_by_length=True)),
        ("max_length", replace(cfg.data, padding="max_length", group_by_length=False)),
    ):
        _, times = lightning_run(replace(cfg, data=data), competition, None, steps)
        result[f"{name}_s_per_step"] = steady(times, warmup)
    result["ratio"] = result["max_length_s_per_step"] / result["dynamic_s_per_step"]
    return result


def bench(cfg: Config, steps: int = 40, repeats: int = 3, warmup: int = 5, sizes: tuple[int, ...] = ()) -> dict:
    """The figures `bench_report.print_bench` prints; with `sizes`, the task's inputs at those real sizes too."""
    quiet = replace(cfg.trainer, enable_progress_bar=False, enable_model_summary=False)
    competition = load_competition(cfg)  # read once; every measurement builds its own fold from it
    cfg = resolve_but_lr(replace(cfg, trainer=quiet), competition)
    with warnings.catch_warnings():  # validation is off on purpose, and Lightning says so at every run
        warnings.filterwarnings("ignore", message=".*(no `val_dataloader`|could not find the monitored key).*")
        report = _bench(cfg, competition, steps, repeats, warmup)
        if sizes:
            report["real_sizes"] = get_task(cfg).bench_real_sizes(cfg, sizes)
        return report


def _bench(cfg: Config, competition, steps: int, repeats: int, warmup: int) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
    report = {"loop": loop_overhead(cfg, competition, device, steps, repeats, warmup)}
    step = report["loop"]["plain/memory"]
    report["pipeline"] = pipeline_throughput(cfg, competition, steps)
    report["pipeline"]["model_items_per_s"] = cfg.data.batch_size / step
    task = get_task(cfg)
    if task.has_tta:
        report["tta"] = tta_cost(cfg, competition, device, repeats)
    if task.has_padding:
        report["padding"] = padding_cost(cfg, competition, steps, warmup)
    return report
