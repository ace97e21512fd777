"""Lightning's learning-rate and batch-size finders, run on one fold before training it.

Each runs on a throwaway copy of the fold (no checkpoints, no loggers, nothing left in the experiment)
and returns what it found; train.py prints it and, with `apply`, trains with it.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import lightning as L
from lightning.pytorch.tuner import Tuner

from .atomic import write_atomic
from .config import Config
from .data.competition import load_competition
from .data.datamodule import FoldDataModule
from .models import build_net
from .module import make_module


def _fold(cfg: Config, fold: int, root: str):
    L.seed_everything(cfg.seed, workers=True)
    competition = load_competition(cfg)
    net = build_net(cfg, competition.problem)
    module, data = make_module(net, cfg, competition.problem), FoldDataModule(cfg, competition, fold, net)
    kwargs = {**cfg.trainer_kwargs(), "num_sanity_val_steps": 0, "enable_progress_bar": False}
    trainer = L.Trainer(**kwargs, logger=False, enable_checkpointing=False, default_root_dir=root)
    return module, data, trainer


def find_lr(cfg: Config, fold: int, plot: Path, num_training: int = 100) -> float:
    """Lightning's LR range test: the loss over `num_training` steps of exponentially growing learning rate
    (every parameter group at the same rate), plotted to `plot`; returns the suggested rate (the steepest
    descent of the loss)."""
    # Enough epochs for num_training steps on a small dataset; the finder stops after num_training steps.
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=max(cfg.trainer.max_epochs, num_training)))
    with tempfile.TemporaryDirectory(prefix="find-lr-") as root:
        module, data, trainer = _fold(cfg, fold, root)
        finder = Tuner(trainer).lr_find(module, datamodule=data, num_training=num_training, update_attr=False)
    suggestion = finder.suggestion() if finder is not None else None
    if suggestion is None:
        raise RuntimeError(f"the LR finder found no descent of the loss in {num_training} steps; try more steps")
    figure = finder.plot(suggest=True)
    figure.axes[0].set_title(f"{cfg.experiment}, fold {fold}: suggested lr {suggestion:.2e}")
    write_atomic(plot, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    return float(suggestion)


def find_batch_size(cfg: Config, fold: int, max_val: int = 8192) -> int:
    """Lightning's batch-size finder: doubles data.batch_size until a step runs out of memory (or the batch
    outgrows the training data, or reaches `max_val`); returns the largest that ran."""
    with tempfile.TemporaryDirectory(prefix="find-batch-size-") as root:
        module, data, trainer = _fold(cfg, fold, root)
        init_val = cfg.data.batch_size
        return int(Tuner(trainer).scale_batch_size(module, datamodule=data, init_val=init_val, max_val=max_val))


def scaled_lrs(cfg: Config, lr: float) -> list[str]:
    """Dotted flags that set the head's rate to `lr` and keep the backbone's ratio to it."""
    flags = ["--optim.lr", f"{lr:.3g}"]
    if cfg.optim.backbone_lr is not None:
        flags += ["--optim.backbone_lr", f"{cfg.optim.backbone_lr * lr / cfg.optim.lr:.3g}"]
    return flags
