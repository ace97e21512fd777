"""Lightning's learning-rate and batch-size finders, run on one fold before training it.

Each runs on a throwaway copy of the fold (no checkpoints, no loggers, nothing left in the experiment)
and returns what it found; train.py prints it and, with `apply`, trains with it.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import lightning as L
import numpy as np
from lightning.pytorch.tuner import Tuner

from .atomic import write_atomic
from .auto import resolve_auto, resolve_but_lr, set_key
from .config import Config, ConfigError
from .data.competition import Competition, load_competition
from .errors import UserError
from .fold import build_module_and_data, check_can_run


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


def _fold(cfg: Config, competition: Competition, fold: int, root: str):
    module, data = build_module_and_data(cfg, competition, fold)
    # No validation (the LR finder resets limit_val_batches, so it is put off past the last epoch): the
    # finders look at training steps only.
    kwargs = {**cfg.trainer_kwargs(), "num_sanity_val_steps": 0, "enable_progress_bar": False}
    kwargs["check_val_every_n_epoch"] = 10**6
    trainer = L.Trainer(**kwargs, logger=False, enable_checkpointing=False, default_root_dir=root)
    return module, data, trainer


def find_lr(
    cfg: Config, fold: int, plot: Path, num_training: int = 100, competition: Competition | None = None
) -> float:
    """Lightning's LR range test: the loss over `num_training` steps of exponentially growing learning rate
    (every parameter group at the same rate), plotted to `plot`; returns the suggested rate, where the loss
    falls fastest."""
    cfg, competition = _prepared(cfg, competition)
    # Enough epochs for num_training steps on a small dataset; the finder stops after num_training steps.
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=max(cfg.trainer.max_epochs, num_training)))
    with tempfile.TemporaryDirectory(prefix="find-lr-") as root:
        module, data, trainer = _fold(cfg, competition, fold, root)
        finder = Tuner(trainer).lr_find(module, datamodule=data, num_training=num_training, update_attr=False)
    if finder is None:  # Lightning skips it in a fast_dev_run
        raise ConfigError(
            "config key 'trainer.fast_dev_run': the LR finder does not run in a fast_dev_run; set it to 0"
        )
    lrs, losses = np.array(finder.results["lr"]), np.array(finder.results["loss"])
    best = steepest_descent(lrs, losses)
    if best is None:
        raise UserError(f"the LR finder found no descent of the loss in {num_training} steps; try more steps")
    figure = finder.plot(suggest=False)
    axes = figure.axes[0]
    axes.plot(lrs[best], losses[best], marker="o", markersize=10, color="red")
    axes.set_title(f"{cfg.experiment}, fold {fold}: suggested lr {lrs[best]:.2e}")
    write_atomic(plot, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    return float(lrs[best])


def steepest_descent(lrs: np.ndarray, losses: np.ndarray, skip_begin: int = 10, skip_end: int = 1) -> int | None:
    """The index of the steepest descent of the loss over log10(lr), the rates being spaced evenly in log.

    Not the finder's own suggestion(): Lightning 2.6 takes the slope over the rate itself, which points at
    the flat start of the curve (Lightning issue 21141).
    """
    index = np.arange(len(losses))[skip_begin:-skip_end]
    index = index[np.isfinite(losses[index])]
    if len(index) < 2:
        return None
    return int(index[np.argmin(np.gradient(losses[index], np.log10(lrs[index])))])


def find_batch_size(cfg: Config, fold: int, max_val: int = 8192) -> int:
    """Lightning's batch-size finder: doubles data.batch_size until a step runs out of memory or the batch
    reaches the cap, `max_val` or the fold's training rows (even with mixup), whichever is smaller; returns
    the largest that ran, or the cap (which Lightning returns once reached). Never more than the training
    rows: a larger batch would make no training batch at all where the last partial one is dropped."""
    cfg, competition = _prepared(cfg, None)
    with tempfile.TemporaryDirectory(prefix="find-batch-size-") as root:
        module, data, trainer = _fold(cfg, competition, fold, root)
        rows = len(data.train_rows)
        cap = min(max_val, rows - rows % 2 if cfg.mixup.enabled else rows)  # mixup pairs the rows of a batch
        init_val = min(cfg.data.batch_size, cap)
        found = Tuner(trainer).scale_batch_size(module, datamodule=data, init_val=init_val, max_val=cap)
    found = min(int(found), cap)
    return found - found % 2 if cfg.mixup.enabled else found


def scaled_lrs(cfg: Config, lr: float) -> list[str]:
    """Dotted flags that set the head's rate to `lr` and keep the backbone's ratio to it."""
    flags = ["--optim.lr", f"{lr:.3g}"]
    if isinstance(cfg.optim.backbone_lr, float) and isinstance(cfg.optim.lr, float):  # not null, not auto
        flags += ["--optim.backbone_lr", f"{cfg.optim.backbone_lr * lr / cfg.optim.lr:.3g}"]
    return flags
