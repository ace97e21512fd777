"""How fast this machine trains and predicts, measured, not guessed: `bench(cfg)` gathers every figure bench.py
prints (report.py).

- The training loop against a plain PyTorch loop (loops.py).
- The data pipeline alone (images or tokens per second) against the model's step time from memory.
- Prediction with TTA: k views against one.
- Texts: dynamic padding and length grouping against padding every batch to data.max_length.
- The task's inputs at real sizes: the module of this folder that the task names (Task.real_inputs), photos.py
  for 512 and 768 px JPEGs{% if cookiecutter.task != "vision" %}, essays.py for 512-token essays{% endif %}.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from ..config import Config
from ..config.recipe import TTA_VIEWS
from ..cv.auto import resolve_but_lr
from ..cv.split import load_competition
from ..tasks import Task, get_task
from .loops import _fresh, _sync, lightning_run, loop_overhead, steady
from .report import print_bench
from .whole_fold import fold_against_hand, print_whole_fold


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
    views, task = list(TTA_VIEWS), get_task(cfg)

    def seconds(views: list[str]) -> float:
        start = time.perf_counter()
        task.predict_loader(module.net, data.val_dataloader(), competition.problem, views, device)
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
    """The figures `report.print_bench` prints; with `sizes`, the task's inputs at those real sizes too."""
    quiet = replace(cfg.trainer, enable_progress_bar=False, enable_model_summary=False)
    competition = load_competition(cfg)  # read once; every measurement builds its own fold from it
    cfg = resolve_but_lr(replace(cfg, trainer=quiet), competition)
    with warnings.catch_warnings():  # validation is off on purpose, and Lightning says so at every run
        warnings.filterwarnings("ignore", message=".*(no `val_dataloader`|could not find the monitored key).*")
        report = _bench(cfg, competition, steps, repeats, warmup)
        if sizes:
            report["real_sizes"] = real_inputs(get_task(cfg)).real_sizes(cfg, sizes)
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


def real_inputs(task: Task):
    """The module of this folder that measures the task's inputs at real sizes: its real_sizes(cfg, sizes) measures
    them, its print_real_sizes(report) prints what it found."""
    return importlib.import_module(f"{__package__}.{task.real_inputs}")


def bench_and_print(args: argparse.Namespace, cfg: Config, project: Path) -> dict:
    """bench.py: its flags (`args`: --steps, --repeats, --warmup, --sizes, --fold-repeats, --config and the dotted
    overrides) measured on `cfg`, printed, and returned."""
    task = get_task(cfg)
    sizes = task.real_sizes if args.sizes is None else tuple(int(size) for size in args.sizes.split(",") if size)
    report = bench(cfg, args.steps, args.repeats, args.warmup, sizes)
    if args.fold_repeats:
        config = Path(args.config).resolve()
        report["whole_fold"] = fold_against_hand(config, args.overrides, project, args.fold_repeats)
    print_bench(report)
    if "real_sizes" in report:
        real_inputs(task).print_real_sizes(report["real_sizes"])
    if "whole_fold" in report:
        print_whole_fold(report["whole_fold"])
    return report
