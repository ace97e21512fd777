"""A fold's callbacks beyond Lightning's own: the guards every fold runs with (epochs seeded from the seed, a NaN
loss stopped), backbone freezing and cosine-cycle stopping; and `make_callbacks`, the whole list from the config."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    BaseFinetuning,
    Callback,
    EarlyStopping,
    GradientAccumulationScheduler,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.utilities import rank_zero_info

from ..config import Config
from ..run import layout
from ..run.errors import NonFiniteLossError
from .averaging import make_averaging
from .module import CompetitionModule
from .schedules import CycleRule


class Guards(Callback):
    """Two guards of a fold's work. Every epoch starts from random generators seeded by (seed, epoch), so a
    fold resumed from last.ckpt draws the same batches, augmentations, dropout and mixup as one never
    interrupted. A NaN or infinite loss stops the fold before its backward pass, so no checkpoint is ever
    written from broken weights."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: CompetitionModule) -> None:
        seed = self.seed + trainer.current_epoch
        L.seed_everything(seed, workers=True, verbose=False)
        pl_module.reseed(trainer.train_dataloader.dataset, seed)  # generators the global seed misses

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"the training loss is {loss.item()} at epoch {trainer.current_epoch}, step {trainer.global_step}"
            )


class FreezeBackbone(Callback):
    """optim.freeze_backbone_epochs: the backbone frozen for the first epochs (no gradients, so the optimizer
    skips it; BatchNorm statistics kept), then trainable. Its parameter groups sit in the optimizer from the
    start, so the LR schedule covers them. Decided from the epoch at every epoch start: a fold resumed from
    last.ckpt freezes exactly as one never interrupted. With DDP, use strategy ddp_find_unused_parameters_true."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch < self.epochs:
            BaseFinetuning.freeze(pl_module.backbone, train_bn=False)
        else:
            BaseFinetuning.make_trainable(pl_module.backbone)


class CycleStop(Callback):
    """optim.schedule cycles: the fold stops as schedules.CycleRule says, at a perfect validation score or at
    the end of a cycle that did not improve. The best checkpoint is what the fold keeps either way."""

    def __init__(self, rule: CycleRule, monitor: str):
        self.rule, self.monitor = rule, monitor

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.should_stop = trainer.should_stop or self.rule.stopped  # resumed from the epoch that stopped it

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        score = float(trainer.callback_metrics[self.monitor])  # the same on every DDP rank: synced when logged
        epoch = trainer.current_epoch + 1
        if self.rule.stop_after(epoch, score):
            trainer.should_stop = True
            rank_zero_info(f"cycles: the fold stops after epoch {epoch} of {trainer.max_epochs}: {self.rule.why}")

    def state_dict(self) -> dict:  # a resumed fold compares its cycles as an uninterrupted one
        return {"best_before": self.rule.best_before, "best": self.rule.best, "stopped": self.rule.stopped}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rule.best_before, self.rule.best, self.rule.stopped = (
            state_dict["best_before"],
            state_dict["best"],
            state_dict["stopped"],
        )


def make_callbacks(cfg: Config, module: CompetitionModule, out: Path, logging: bool, refit: bool = False) -> list:
    """The best (or top-k) checkpoints by the validation metric, last.ckpt after every epoch (for --resume),
    and the config's weight averaging, backbone freezing, early or cycle stopping, accumulation and LR logging.
    A full-data refit validates on no row: it has no best checkpoint and stops only at trainer.max_epochs."""
    # ModelCheckpoint's own save_last writes only when a top-k checkpoint was saved, so an interrupted fold
    # would resume from its last improvement; this one is written at the end of every epoch.
    last = ModelCheckpoint(dirpath=out / layout.CHECKPOINTS, filename=layout.LAST, enable_version_counter=False)
    callbacks = [last, Guards(cfg.seed)] if refit else [best_by_metric(cfg, module, out), last, Guards(cfg.seed)]
    averaging = make_averaging(cfg.averaging)
    if averaging is not None:
        callbacks.append(averaging)
    o, c = cfg.optim, cfg.callbacks
    if o.freeze_backbone_epochs:
        callbacks.append(FreezeBackbone(o.freeze_backbone_epochs))
    # Clean last epochs (mixup.off_last_epochs) need the run to reach them; a refit has no validation to stop on.
    if o.schedule == "cycles" and not refit and not cfg.mixup.off_last_epochs:
        rule = CycleRule(cfg.trainer.max_epochs, module.metric, c.early_stopping_min_delta)
        callbacks.append(CycleStop(rule, module.monitor))
    if c.early_stopping_patience is not None and not refit:
        callbacks.append(
            EarlyStopping(
                module.monitor,
                patience=c.early_stopping_patience,
                min_delta=c.early_stopping_min_delta,
                mode=module.metric.mode,
                stopping_threshold=module.metric.perfect_threshold,  # a perfect fold cannot get a better checkpoint
                check_on_train_epoch_end=False,  # the metric comes from validation
            )
        )
    if c.accumulate_schedule:
        callbacks.append(GradientAccumulationScheduler(dict(c.accumulate_schedule)))
    if c.lr_monitor and logging:  # LearningRateMonitor refuses to run without a logger
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    return callbacks


def best_by_metric(cfg: Config, module: CompetitionModule, out: Path) -> ModelCheckpoint:
    top_k = cfg.averaging.top_k if cfg.averaging.weights == "top_k" else 1
    return ModelCheckpoint(
        dirpath=out / layout.CHECKPOINTS,
        filename=layout.BEST if top_k == 1 else "epoch{epoch:03d}",
        auto_insert_metric_name=False,
        monitor=module.monitor,
        mode=module.metric.mode,
        save_top_k=top_k,
    )
