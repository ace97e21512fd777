"""Lightning's learning-rate and batch-size finders, run on a throwaway Trainer: no checkpoints, no loggers,
nothing left behind. The caller builds the fold's module and data (cv/tune.py); these return what they found."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
from lightning.pytorch.tuner import Tuner

from ..config import Config, ConfigError
from ..run.errors import UserError
from ..run.io import write_atomic


def finder_trainer(cfg: Config, root: str) -> L.Trainer:
    """A Trainer that only trains: the LR finder resets limit_val_batches, so validation is put off past the
    last epoch instead; the finders look at training steps only."""
    kwargs = {**cfg.trainer_kwargs(), "num_sanity_val_steps": 0, "enable_progress_bar": False}
    kwargs["check_val_every_n_epoch"] = 10**6
    return L.Trainer(**kwargs, logger=False, enable_checkpointing=False, default_root_dir=root)


def lr_range_test(trainer: L.Trainer, module, data, plot: Path, title: str, num_training: int = 100) -> float:
    """Lightning's LR range test: the loss over `num_training` steps of exponentially growing learning rate
    (every parameter group at the same rate), plotted to `plot`; returns the suggested rate, where the loss
    falls fastest."""
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
    axes.set_title(f"{title}: suggested lr {lrs[best]:.2e}")
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


def largest_batch(trainer: L.Trainer, module, data, start: int, cap: int) -> int:
    """Lightning's batch-size finder: doubles the batch from `start` until a step runs out of memory or the batch
    reaches `cap`; the largest that ran, or the cap (which Lightning returns once reached)."""
    found = Tuner(trainer).scale_batch_size(module, datamodule=data, init_val=start, max_val=cap)
    return min(int(found), cap)


def scaled_lrs(cfg: Config, lr: float) -> list[str]:
    """Dotted flags that set the head's rate to `lr` and keep the backbone's ratio to it."""
    flags = ["--optim.lr", f"{lr:.3g}"]
    if isinstance(cfg.optim.backbone_lr, float) and isinstance(cfg.optim.lr, float):  # not null, not auto
        flags += ["--optim.backbone_lr", f"{cfg.optim.backbone_lr * lr / cfg.optim.lr:.3g}"]
    return flags
