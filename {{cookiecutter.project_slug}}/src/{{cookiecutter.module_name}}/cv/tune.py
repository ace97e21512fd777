"""The finders on one fold before training it (train.py --find-lr, --find-batch-size), and the `auto` values with
the learning rate among them (resolve_all). Each finder trains a throwaway copy of the fold (training/finders.py):
nothing is left in the experiment but the LR finder's plot.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from ..config import Config, load_config
from ..data.competition import Competition
from ..training.finders import finder_trainer, largest_batch, lr_range_test, scaled_lrs
from .auto import resolve_auto, resolve_but_lr, set_key
from .fold import build_module_and_data, check_can_run
from .split import load_competition


def resolve_all(cfg: Config, competition: Competition) -> Config:
    """Every `auto` value of the config chosen (auto.py), the learning rate by the LR finder."""
    return resolve_auto(cfg, competition, [("optim.lr", learning_rate)])


def learning_rate(cfg: Config, competition: Competition) -> tuple[float, str]:
    plot = cfg.experiment_dir / "lr_find_fold0.png"
    found = find_lr(set_key(cfg, "optim.lr", 1e-3), 0, plot, competition=competition)  # it sweeps its own rates
    return float(f"{found:.3g}"), f"Lightning's LR finder on fold 0, where the loss falls fastest; plot: {plot}"


def _prepared(cfg: Config, competition: Competition | None) -> tuple[Config, Competition]:
    """The config as the finders train it, `auto` values chosen (the LR finder sweeps its own rates), and the
    competition, read here unless given: train.py --find-lr hands the config as written."""
    check_can_run(cfg)  # the finders train too: the same refusals as train.py's
    competition = competition or load_competition(cfg)
    return resolve_but_lr(cfg, competition), competition


def find_lr(
    cfg: Config, fold: int, plot: Path, num_training: int = 100, competition: Competition | None = None
) -> float:
    """The LR range test on fold `fold` (training.finders.lr_range_test), plotted to `plot`: the suggested rate."""
    cfg, competition = _prepared(cfg, competition)
    # Enough epochs for num_training steps on a small dataset; the finder stops after num_training steps.
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=max(cfg.trainer.max_epochs, num_training)))
    with tempfile.TemporaryDirectory(prefix="find-lr-") as root:
        module, data = build_module_and_data(cfg, competition, fold)
        title = f"{cfg.experiment}, fold {fold}"
        return lr_range_test(finder_trainer(cfg, root), module, data, plot, title, num_training)


def find_batch_size(cfg: Config, fold: int, max_val: int = 8192) -> int:
    """The largest data.batch_size that trains fold `fold`, doubling up to `max_val` or the fold's training rows
    (even with mixup), whichever is smaller. Never more than the training rows: a larger batch would make no
    training batch at all where the last partial one is dropped."""
    cfg, competition = _prepared(cfg, None)
    with tempfile.TemporaryDirectory(prefix="find-batch-size-") as root:
        module, data = build_module_and_data(cfg, competition, fold)
        rows = len(data.train_rows)
        cap = min(max_val, rows - rows % 2 if cfg.mixup.enabled else rows)  # mixup pairs the rows of a batch
        found = largest_batch(finder_trainer(cfg, root), module, data, min(cfg.data.batch_size, cap), cap)
    return found - found % 2 if cfg.mixup.enabled else found


def run_finders(args: argparse.Namespace, cfg: Config, fold: int) -> Config | None:
    """train.py's --find-lr and --find-batch-size (`args`, with its --config and dotted overrides) on `fold`: print
    what they found, and return the config to train with (`apply`), or None when only finding."""
    found = []
    if args.find_batch_size:
        batch_size = find_batch_size(cfg, fold)
        found += ["--data.batch_size", str(batch_size)]
        print(f"batch-size finder: {batch_size} fits (data.batch_size is {cfg.data.batch_size})")
        cfg = load_config(args.config, [*args.overrides, *found])  # the LR finder then runs at that size
    if args.find_lr:
        plot = cfg.experiment_dir / f"lr_find_fold{fold}.png"
        lr = find_lr(cfg, fold, plot)
        found += scaled_lrs(cfg, lr)
        print(f"LR finder: suggested learning rate {lr:.3g} (optim.lr is {cfg.optim.lr}); plot: {plot}")
    if "apply" not in (args.find_lr, args.find_batch_size):
        print(f"to train with it: python train.py --fold {args.fold} {' '.join(found)}  (or add 'apply')")
        return None
    return load_config(args.config, [*args.overrides, *found])
