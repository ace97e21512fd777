"""The LightningModule: loss, mixup, validation metric, optimizer and schedule around a plain network.

What differs between tasks (which batch keys the network takes, how a batch is augmented on the device, how it
is mixed) is a method each task's subclass overrides: tasks/vision/module.py and tasks/text/module.py. This
module never asks which task it serves.
"""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch
from torch import nn

from ..config import Config
from ..config.metrics import get_metric
from ..data.problem import Problem
from .loss import make_loss, make_mixed_loss, make_mixup
from .schedules import make_optimizer, make_schedule


class CompetitionModule(L.LightningModule):
    """One fold's training around `net`. A task subclasses it and sets `input_keys`; it may override `augment`,
    `mix` (with mixup on), `reseed` and the parameter groups."""

    input_keys: tuple[str, ...] = ()  # the batch keys the network takes, in its forward's order (Task.input_keys)

    def __init__(self, net: nn.Module, cfg: Config, problem: Problem):
        super().__init__()
        self.net, self.cfg, self.problem = net, cfg, problem
        self.metric = get_metric(cfg.metric)
        self.mixup = make_mixup(cfg, problem)
        self.loss_fn = make_loss(problem, cfg.optim.label_smoothing)
        if self.mixup is not None:
            self.mixed_loss_fn = make_mixed_loss(problem)
        self.save_hyperparameters({"config": cfg.to_dict()})
        self._val: list[tuple[torch.Tensor, ...]] = []  # (predictions, targets, row indices) per batch

    @property
    def backbone(self) -> nn.Module:
        """The network's pretrained part: what optim.freeze_backbone_epochs freezes (callbacks.FreezeBackbone)."""
        return self.net.backbone

    @property
    def monitor(self) -> str:
        """The logged name of the validation metric that picks the checkpoint."""
        return f"val/{self.cfg.metric}"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(**{key: batch[key] for key in self.input_keys if key in batch})

    def augment(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A training batch augmented on the network's device (data.device_augment); mixing is `mix`."""
        return batch

    def mix(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs of a mixed training batch (self.mixup) and its soft targets."""
        raise NotImplementedError(f"{type(self).__name__} does not mix its batches: set the mixup alphas to 0")

    def reseed(self, dataset, seed: int) -> None:
        """Seed the random generators of a training dataset that global seeding does not reach, at each epoch's
        start (training/callbacks.py: Guards), so a resumed fold augments as an uninterrupted one."""

    def mixes_in(self, epoch: int, max_epochs: int) -> bool:
        """Whether epoch `epoch` of `max_epochs` trains on mixed batches (mixup.off_last_epochs trains clean)."""
        return self.mixup is not None and epoch < max_epochs - self.cfg.mixup.off_last_epochs

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        batch = self.augment(batch)  # the batch is on the device here
        if self.mixes_in(self.current_epoch, self.trainer.max_epochs):
            loss = self.mixed_loss_fn(*self.mix(batch))
        else:
            loss = self.loss_fn(self(batch), batch["target"])
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        outputs = self(batch)
        self.log("val/loss", self.loss_fn(outputs, batch["target"]), prog_bar=True, sync_dist=True)
        self.keep_for_metric(self.problem.activate(outputs), batch)

    def keep_for_metric(self, preds: torch.Tensor, batch: dict[str, torch.Tensor]) -> None:
        self._val.append((preds.float(), batch["target"], batch["index"]))

    def validation_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """This epoch's validation predictions and targets, each row once. With DDP, each process validated a
        share of the rows (the sampler repeats a few to even the shares): gather them all, drop the repeats."""
        preds, targets, index = (torch.cat(parts) for parts in zip(*self._val, strict=True))
        self._val.clear()
        if self.trainer.world_size > 1:
            preds, targets, index = (self.all_gather(t).flatten(0, 1) for t in (preds, targets, index))
            index, first = np.unique(index.cpu().numpy(), return_index=True)
            preds, targets = preds[first], targets[first]
        return preds.cpu().numpy(), targets.cpu().numpy()

    def on_validation_epoch_end(self) -> None:
        preds, targets = self.validation_rows()
        # The sanity check sees two batches, too few classes for some metrics; skip scoring it.
        if not self.trainer.sanity_checking:
            # Every process computed the same score from the same rows; sync_dist only keeps Lightning quiet.
            self.log(self.monitor, self.metric(targets, preds, self.problem.kind), prog_bar=True, sync_dist=True)

    def head_groups(self) -> list[dict]:
        return [{"params": list(self.net.head.parameters()), "lr": self.cfg.optim.lr}]

    def backbone_groups(self, lr: float) -> list[dict]:
        return [{"params": list(self.net.backbone.parameters()), "lr": lr}]

    def param_groups(self) -> list[dict]:
        # The backbone's groups are here from the start, frozen or not, so the LR schedule knows every group;
        # while optim.freeze_backbone_epochs holds it frozen, its parameters get no gradients and are skipped.
        return [*self.backbone_groups(self.cfg.optim.backbone_lr or self.cfg.optim.lr), *self.head_groups()]

    def optimizer_steps(self) -> int:
        """The optimizer steps of the whole run, the schedule's length. Lightning's estimate does not know
        about a GradientAccumulationScheduler, so with callbacks.accumulate_schedule they are counted here."""
        estimate, schedule = int(self.trainer.estimated_stepping_batches), self.cfg.callbacks.accumulate_schedule
        if not schedule:
            return estimate
        epochs, batches = self.trainer.max_epochs, self.trainer.num_training_batches  # counted by the estimate

        def accumulate(epoch: int) -> int:
            return schedule[max(start for start in schedule if start <= epoch)] if min(schedule) <= epoch else 1

        return sum(math.ceil(batches / accumulate(epoch)) for epoch in range(epochs))

    def configure_optimizers(self):
        optimizer = make_optimizer(self.cfg, self.param_groups())
        schedule = make_schedule(self.cfg, optimizer, max(self.optimizer_steps(), 2), self.trainer.max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
