"""The config's Lightning Trainer, its callbacks and the W&B run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from omegaconf import MISSING

from ..run.errors import ConfigError
from .rules import AUTO, auto_or_number, batches, in_range, one_of

PRECISIONS = ("32-true", "16-mixed", "bf16-mixed")
CLIP_ALGORITHMS = (None, "norm", "value")
PROFILERS = (None, "simple", "advanced", "pytorch")
WANDB_MODES = (None, "online", "offline", "disabled")


@dataclass
class TrainerConfig:
    """Passed to `lightning.Trainer`: each key is the Trainer argument of the same name; null leaves
    Lightning's default."""

    # auto: at least 5 epochs and about a budget of optimizer steps (auto.py), with early stopping
    max_epochs: Any = 10
    max_steps: int = -1  # stop after this many optimizer steps; -1: after max_epochs
    accelerator: str = "auto"  # auto, cpu, gpu
    devices: Any = "auto"  # a count or a list of GPU indices; several run DDP (set strategy: ddp)
    strategy: str = "auto"  # ddp for several GPUs; ddp_find_unused_parameters_true if some weights go unused
    num_nodes: int = 1
    sync_batchnorm: bool = False  # DDP: BatchNorm statistics over every GPU's batch
    precision: str = "32-true"  # 32-true, 16-mixed (CUDA GPUs), bf16-mixed (Ampere+ GPUs; CPUs only with AMX)
    accumulate_grad_batches: int = 1  # see also callbacks.accumulate_schedule
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None  # norm (the default) or value
    deterministic: bool = False  # deterministic CUDA kernels: bit-equal reruns, somewhat slower
    benchmark: bool | None = None  # cudnn autotuning; null: on unless deterministic
    log_every_n_steps: int = 10
    limit_train_batches: int | float | None = None  # an int counts batches, a float is a share of them
    limit_val_batches: int | float | None = None
    num_sanity_val_steps: int = 2
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    profiler: str | None = None  # simple, advanced or pytorch: where the time goes, printed after fit
    # Debug runs: nothing is written and no fold is marked finished.
    fast_dev_run: int = 0  # run this many batches of training and validation, once
    overfit_batches: int | float = 0  # train and validate on these few training batches (loss should reach 0)

    def kwargs(self) -> dict[str, Any]:
        """The Trainer's arguments: those set, Lightning's defaults for the others."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def check(self) -> None:
        self.max_epochs = epochs = auto_or_number("trainer.max_epochs", self.max_epochs, int)
        steps = self.max_steps
        valid = epochs == AUTO or epochs >= 1 or (epochs == -1 and steps > 0)
        in_range("trainer.max_epochs", epochs, valid, "auto, or 1 or more (-1 only with trainer.max_steps)")
        in_range("trainer.max_steps", steps, steps == -1 or steps >= 1, "-1 (use max_epochs) or 1 or more")
        accumulate = self.accumulate_grad_batches
        in_range("trainer.accumulate_grad_batches", accumulate, accumulate >= 1, "1 or more")
        clip = self.gradient_clip_val
        in_range("trainer.gradient_clip_val", clip, clip is None or clip > 0, "null (off) or above 0")
        share = "null, a count of 1 or more, or a share in (0, 1]"
        in_range("trainer.limit_train_batches", self.limit_train_batches, batches(self.limit_train_batches), share)
        in_range(
            "trainer.limit_val_batches",
            self.limit_val_batches,
            batches(self.limit_val_batches),
            f"{share}: validation picks each fold's checkpoint",
        )
        in_range("trainer.log_every_n_steps", self.log_every_n_steps, self.log_every_n_steps >= 1, "1 or more")
        one_of("trainer.precision", self.precision, PRECISIONS)
        one_of("trainer.gradient_clip_algorithm", self.gradient_clip_algorithm, CLIP_ALGORITHMS)
        one_of("trainer.profiler", self.profiler, PROFILERS)


@dataclass
class CallbacksConfig:
    """Lightning callbacks beyond the checkpoint (always on: best/top-k by the metric, and last.ckpt)."""

    # Stop after this many epochs without improvement; null: off; auto: 3 when trainer.max_epochs is auto, else off.
    early_stopping_patience: Any = None
    early_stopping_min_delta: float = 0.0
    # {epoch: batches}: from each epoch on, accumulate gradients over that many batches
    # (GradientAccumulationScheduler); use instead of trainer.accumulate_grad_batches.
    accumulate_schedule: dict[int, int] = field(default_factory=dict)
    lr_monitor: bool = True  # log the learning rates

    def check(self) -> None:
        self.early_stopping_patience = patience = auto_or_number(
            "callbacks.early_stopping_patience", self.early_stopping_patience, int, nullable=True
        )
        fits = patience in (None, AUTO) or patience >= 1
        in_range("callbacks.early_stopping_patience", patience, fits, "null (off), auto, or 1 or more")
        schedule = self.accumulate_schedule
        if schedule and (min(schedule) < 0 or min(schedule.values()) < 1):
            raise ConfigError(f"config key 'callbacks.accumulate_schedule': {schedule} needs epochs >= 0, batches >= 1")


@dataclass
class WandbConfig:
    project: str = MISSING
    entity: str | None = None
    # online, offline or disabled; empty means online with credentials, offline without them.
    # The WANDB_MODE environment variable wins over this.
    mode: str | None = None

    def check(self) -> None:
        one_of("wandb.mode", self.mode, WANDB_MODES)
