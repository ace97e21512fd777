"""Weight averaging, and the choice of a fold's final weights: an EMA or an SWA of the weights during
training, the mean of a fold's top-k checkpoints after it, SWA's learning rate, and the BatchNorm
statistics an average needs.

EMA and SWA are Lightning's WeightAveraging: validation, and so the checkpoint choice, sees the averaged weights,
and each checkpoint's state_dict holds them (the raw weights sit under `current_model_state`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from lightning.pytorch.callbacks import WeightAveraging
from torch import nn
from torch.optim.swa_utils import update_bn

from ..config import AveragingConfig, ConfigError


def ema_decay(decay: float, updates: int, warmup: bool) -> float:
    """The decay of the next EMA update after `updates` updates. With warmup it starts near 0 and grows to
    `decay` (timm's ModelEmaV3 formula), so the first updates are not pinned to the random initial weights."""
    return min(decay, 1 - (1 + updates) ** (-2 / 3)) if warmup else decay


class Averaging(WeightAveraging):
    """Lightning's WeightAveraging, guarded against its delayed-start trap (Lightning issue 21724): until the
    first update the average holds the initial weights, which must neither be validated, saved as a
    checkpoint's weights, nor copied into the model when training ends."""

    @property
    def updates(self) -> int:
        return 0 if self._average_model is None else int(self._average_model.n_averaged)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if self.updates:
            super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def _swap_models(self, pl_module) -> None:
        if self.updates:
            super()._swap_models(pl_module)

    def _copy_average_to_current(self, pl_module) -> None:
        if self.updates:
            super()._copy_average_to_current(pl_module)


class EMA(Averaging):
    """An exponential moving average of the weights (and buffers), updated every `every_n_steps` optimizer
    steps from `start_step` on."""

    def __init__(self, decay: float, every_n_steps: int = 1, start_step: int = 0, warmup: bool = False):
        def average(averaged: torch.Tensor, current: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
            d = ema_decay(decay, int(updates), warmup)
            return averaged * d + current * (1 - d)

        super().__init__(avg_fn=average, use_buffers=True)
        self.every_n_steps, self.start_step = every_n_steps, start_step

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx >= self.start_step and step_idx % self.every_n_steps == 0


class SWA(Averaging):
    """Stochastic weight averaging: the plain mean of the weights at the end of each epoch from `start_epoch` on.

    Unlike Lightning's StochasticWeightAveraging, the average is what validation sees and what the
    checkpoints hold, it is kept when training stops early, and no extra epoch is run: the fold runner
    recomputes the BatchNorm statistics once, at the end.
    """

    def __init__(self, start_epoch: int):
        super().__init__(use_buffers=True)  # no avg_fn: AveragedModel's running mean
        self.start_epoch = start_epoch
        self._epoch_ends = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        # An epoch's weights join the average at its last batch, before its validation (Lightning's
        # on_train_epoch_end comes after it): what validation scores is what the epoch's checkpoints hold.
        last = batch_idx + 1 == trainer.num_training_batches
        self._epoch_ends = last and trainer.current_epoch >= self.start_epoch
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and self._epoch_ends


def make_averaging(cfg: AveragingConfig) -> Averaging | None:
    """The callback that averages during training: EMA, SWA, or none."""
    if cfg.weights == "swa":
        return SWA(cfg.swa_start_epoch)
    if cfg.ema:
        return EMA(cfg.ema_decay, cfg.ema_every_n_steps, cfg.ema_start_step, cfg.ema_warmup)
    return None


def checkpoint_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A checkpoint's module weights (the EMA weights when EMA is on), read with weights_only: nothing is unpickled.

    Not trainer.predict(ckpt_path=...): with the EMA callback attached, Lightning then loads the raw
    weights (`current_model_state`) into the module, not the averaged ones.
    """
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def average_checkpoints(paths: Iterable[str | Path]) -> dict[str, torch.Tensor]:
    """The mean of the checkpoints' weights. Float tensors are averaged; integer buffers (BatchNorm's batch
    counts) are taken from the first checkpoint."""
    states = [checkpoint_weights(path) for path in paths]
    return {
        name: torch.stack([state[name] for state in states]).mean(dim=0) if tensor.is_floating_point() else tensor
        for name, tensor in states[0].items()
    }


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def recalibrate_batchnorm(module: nn.Module, batches: Iterable[dict], device: torch.device) -> None:
    """Recompute BatchNorm's running statistics as the plain mean over `batches`: an average of weights
    does not come with statistics that fit it. `module` takes a whole batch dict; it is moved to `device`."""
    module.to(device)
    update_bn(({key: value.to(device) for key, value in batch.items()} for batch in batches), module)


def weights_used(cfg: AveragingConfig) -> str:
    """Which weights produce a fold's OOF and export, in words for cv.json."""
    ema = "EMA " if cfg.ema else ""
    if cfg.weights == "swa":
        return f"the SWA of the weights from epoch {cfg.swa_start_epoch} on"
    if cfg.weights == "top_k":
        return f"the mean of the top {cfg.top_k} {ema}checkpoints"
    return f"the best {ema}checkpoint"


def averaged_weights(cfg: AveragingConfig, module: nn.Module, trainer, checkpoint) -> dict[str, torch.Tensor] | None:
    """The average that averaging.weights asks for, after fit: SWA's (which training leaves in `module`) or
    the mean of the top-k checkpoints; None for the best checkpoint alone. An SWA that never updated is
    refused: never fall back to the raw weights silently."""
    if cfg.weights == "swa":
        swa = next(callback for callback in trainer.callbacks if isinstance(callback, SWA))
        if not swa.updates:
            raise ConfigError(
                f"config key 'averaging.swa_start_epoch': training stopped after epoch {trainer.current_epoch}, "
                f"before SWA's first update at the end of "
                f"epoch {swa.start_epoch} (averaging.swa_start_epoch): no SWA weights to use"
            )
        return {name: tensor.clone() for name, tensor in module.state_dict().items()}
    if cfg.weights == "top_k":
        return average_checkpoints(checkpoint.best_k_models)
    return None
