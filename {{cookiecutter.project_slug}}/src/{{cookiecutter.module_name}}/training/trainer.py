"""The Lightning Trainer of one fold (its callbacks in callbacks.py, its checkpoint writer in checkpoints.py), and a
check that this machine can run it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from ..config import Config, ConfigError
from .callbacks import make_callbacks
from .checkpoints import AtomicCheckpointIO
from .module import CompetitionModule


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
