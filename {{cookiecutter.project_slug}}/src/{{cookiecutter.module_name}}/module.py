"""The LightningModule: loss, mixup, validation metric, TTA, optimizer and schedule around a plain network.

One module serves every task: what differs (the batch's inputs, how a batch mixes, how it is predicted)
is asked of the task (tasks/). A task may subclass it, as text-to-text does to learn by writing the label.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import torch
from timm.data import Mixup
from timm.loss import SoftTargetCrossEntropy
from torch import nn

from .config import Config
from .metrics import get_metric
from .problem import Problem
from .schedules import make_optimizer, make_schedule

if TYPE_CHECKING:
    from .tasks import Task


def make_mixup(cfg: Config, problem: Problem) -> Mixup | None:
    """timm's Mixup/CutMix, which also applies the label smoothing; None when both alphas are 0."""
    m = cfg.mixup
    if not m.enabled:
        return None
    return Mixup(
        mixup_alpha=m.mixup_alpha,
        cutmix_alpha=m.cutmix_alpha,
        prob=m.prob,
        switch_prob=m.switch_prob,
        mode=m.mode,
        label_smoothing=cfg.optim.label_smoothing if problem.is_classification else 0.0,
        num_classes=problem.num_outputs,  # timm's default of 1000 would be wrong
        multi_label=problem.kind != "multiclass",  # dense targets: 0/1 labels or regression values
    )


class CompetitionModule(L.LightningModule):
    def __init__(self, net: nn.Module, cfg: Config, problem: Problem, task: Task):
        super().__init__()
        self.net, self.cfg, self.problem, self.task = net, cfg, problem, task
        self.metric = get_metric(cfg.metric)
        self.mixup = make_mixup(cfg, problem)
        self.loss_fn = problem.loss(cfg.optim.label_smoothing)
        if self.mixup is not None:  # mixed targets are soft and already smoothed by Mixup
            self.mixed_loss_fn = SoftTargetCrossEntropy() if problem.kind == "multiclass" else problem.loss(0.0)
        self.save_hyperparameters({"config": cfg.to_dict()})
        self._val: list[tuple[torch.Tensor, ...]] = []  # (predictions, targets, row indices) per batch

    @property
    def backbone(self) -> nn.Module:
        """The network's pretrained part: what optim.freeze_backbone_epochs freezes (trainer.FreezeBackbone)."""
        return self.net.backbone

    @property
    def monitor(self) -> str:
        """The logged name of the validation metric that picks the checkpoint."""
        return f"val/{self.cfg.metric}"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(**{key: batch[key] for key in self.task.input_keys if key in batch})

    def mixes_in(self, epoch: int, max_epochs: int) -> bool:
        """Whether epoch `epoch` of `max_epochs` trains on mixed batches (mixup.off_last_epochs trains clean)."""
        return self.mixup is not None and epoch < max_epochs - self.cfg.mixup.off_last_epochs

    def mixed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs of a mixed batch and its soft targets, mixed as the task mixes its inputs."""
        return self.task.mix(self.net, self.mixup, self.cfg, batch)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        batch = self.task.augment_on_device(self.net, self.cfg, batch)  # the batch is on the device here
        if self.mixes_in(self.current_epoch, self.trainer.max_epochs):
            loss = self.mixed_loss_fn(*self.mixed(batch))
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

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.task.predict_batch(self.net, batch, self.problem, self.cfg.tta.views)

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
