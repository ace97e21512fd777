"""The Lightning Trainer of one fold: its callbacks from the config, and a check that this machine can run it."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import (
    BaseFinetuning,
    Callback,
    EarlyStopping,
    GradientAccumulationScheduler,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.utilities import rank_zero_info

from . import layout
from .atomic import umask, write_atomic
from .averaging import make_averaging
from .config import Config, ConfigError
from .errors import NonFiniteLossError
from .module import CompetitionModule
from .schedules import CycleRule


def cpu_has_amx(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this CPU has AMX bfloat16 tiles (amx_bf16 among its flags), which make bf16-mixed pay on a
    CPU; False where the file cannot be read (not Linux)."""
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        return False
    return any("amx_bf16" in line.partition(":")[2].split() for line in text.splitlines() if line.startswith("flags"))


def check_hardware(cfg: Config) -> None:
    """Refuse, before anything is written, a precision or device count this machine cannot give; warn about
    bf16-mixed on a CPU without AMX, which runs but much slower than 32-true."""
    precision, accelerator = cfg.trainer.precision, cfg.trainer.accelerator
    on_gpu = torch.cuda.is_available() and accelerator in ("auto", "gpu", "cuda")
    if precision == "16-mixed" and not on_gpu:
        raise ConfigError(
            "config key 'trainer.precision': 16-mixed needs a CUDA GPU and none is in use here; "
            "use 32-true, or bf16-mixed on a CPU with AMX"
        )
    if precision == "bf16-mixed" and not on_gpu and not cpu_has_amx():
        print(
            "warning: config key 'trainer.precision': bf16-mixed on a CPU without AMX (no amx_bf16 in /proc/cpuinfo) "
            "is usually much slower than 32-true (about 10x on an AMD EPYC); it pays on GPUs with bfloat16"
        )
    if precision == "bf16-mixed" and on_gpu and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"config key 'trainer.precision': this GPU ({torch.cuda.get_device_name()}) has no bfloat16; use 16-mixed"
        )
    devices = cfg.trainer.devices
    if on_gpu and isinstance(devices, int) and devices > torch.cuda.device_count():
        raise ConfigError(
            f"config key 'trainer.devices': {devices} GPUs asked for, {torch.cuda.device_count()} present"
        )


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
        pl_module.task.reseed(trainer.train_dataloader.dataset, seed)  # generators the global seed misses

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


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all, through a temporary file in their own folder and a rename.
    Lightning's own save goes through $TMPDIR, and across filesystems its move first empties the old
    last.ckpt: a kill at that moment would leave no good checkpoint, and killed runs leave temp files behind.

    Written by one background thread, in order: training waits only for a copy of the tensors on the CPU,
    not for the disk (seconds per epoch for a large model and its optimizer state). Reading, removing and the
    end of fit() wait for every write before. last.ckpt of the epoch whose best.ckpt was just written holds
    the same training state: it becomes a hard link to it instead of a second write of the same bytes (a
    rename replaces either file later, never both)."""

    def __init__(self):
        super().__init__()
        self.previous: tuple[tuple, Path] | None = None  # (epoch, step) and path of the last checkpoint saved
        self.writer: ThreadPoolExecutor | None = None
        self.pending: list[Future] = []

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        self.raise_failed()
        path, at, previous = Path(path), (checkpoint.get("epoch"), checkpoint.get("global_step")), self.previous
        if previous and previous[0] == at and None not in at and previous[1] != path:
            write = partial(link_or_copy, previous[1])
        else:  # a copy taken now: training goes on changing the weights and the optimizer state in place
            write = partial(torch.save, on_cpu(checkpoint))
        self.previous = (at, path)
        self.writer = self.writer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self.pending.append(self.writer.submit(write_atomic, path, write, umask()))

    def raise_failed(self) -> None:
        """Raise the error of a write that failed (a full disk) at the next call, not never."""
        for future in [future for future in self.pending if future.done()]:
            self.pending.remove(future)
            future.result()

    def wait(self) -> None:
        """Every checkpoint saved so far is on disk."""
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def load_checkpoint(self, *args, **kwargs) -> dict:
        self.wait()  # the LR and batch-size finders read back what they just saved
        return super().load_checkpoint(*args, **kwargs)

    def remove_checkpoint(self, path) -> None:
        self.wait()
        if self.previous and self.previous[1] == Path(path):
            self.previous = None
        super().remove_checkpoint(path)

    def teardown(self) -> None:
        """The end of fit(), also when it failed: every write finished, so the fold reads what it saved."""
        self.wait()
        if self.writer is not None:
            self.writer.shutdown()
            self.writer = None


def on_cpu(value):
    """A checkpoint with a copy of each of its tensors on the CPU; containers rebuilt, other values as they are."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        copied = copy.copy(value)  # keeps an OrderedDict or a defaultdict what it is
        copied.update((key, on_cpu(item)) for key, item in value.items())
        return copied
    if isinstance(value, list):
        return [on_cpu(item) for item in value]
    if isinstance(value, tuple):
        items = [on_cpu(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def link_or_copy(source: Path, tmp: Path) -> None:
    tmp.unlink()  # write_atomic made it; a link needs the name free
    try:
        os.link(source, tmp)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, tmp)


def make_trainer(
    cfg: Config,
    module: CompetitionModule,
    out: Path,
    loggers: list | None = None,
    extra: Sequence[Callback] = (),
    refit: bool = False,
) -> L.Trainer:
    """The fold's Trainer, writing under `out`; `extra` callbacks run after the config's own. A full-data
    refit runs no validation."""
    kwargs = cfg.trainer_kwargs() | ({"limit_val_batches": 0, "num_sanity_val_steps": 0} if refit else {})
    return L.Trainer(
        **kwargs,
        callbacks=[*make_callbacks(cfg, module, out, bool(loggers), refit), *extra],
        logger=loggers or False,
        default_root_dir=out,
        plugins=[AtomicCheckpointIO()],
    )


def best_checkpoint(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The callback that keeps the best (or top-k) checkpoints by the validation metric (a refit has none)."""
    return next((cb for cb in trainer.checkpoint_callbacks if cb.monitor is not None), None)
