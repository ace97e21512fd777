"""The one LightningModule: loss, mixup, validation metric, TTA, optimizer and schedule around a plain network."""

from __future__ import annotations

import lightning as L
import torch
from timm.data import Mixup
from timm.loss import SoftTargetCrossEntropy
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, OneCycleLR, SequentialLR

from .config import Config
from .metrics import get_metric
from .problem import Problem
from .tta import tta_predict


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
    def __init__(self, net: nn.Module, cfg: Config, problem: Problem):
        super().__init__()
        self.net, self.cfg, self.problem = net, cfg, problem
        self.metric = get_metric(cfg.metric)
        self.mixup = make_mixup(cfg, problem)
        self.loss_fn = problem.loss(cfg.optim.label_smoothing)
        if self.mixup is not None:  # mixed targets are soft and already smoothed by Mixup
            self.mixed_loss_fn = SoftTargetCrossEntropy() if problem.kind == "multiclass" else problem.loss(0.0)
        self.tta_views = ["identity"]  # predict_step's views; the fold runner sets them for the OOF
        self.save_hyperparameters({"config": cfg.to_dict()})
        self._val_preds: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    @property
    def backbone(self) -> nn.Module:
        """For Lightning's BackboneFinetuning, which freezes and unfreezes the attribute of this name."""
        return self.net.backbone

    @property
    def monitor(self) -> str:
        """The logged name of the validation metric that picks the checkpoint."""
        return f"val/{self.cfg.metric}"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["image"])

    def mixing(self) -> bool:
        return self.mixup is not None and self.current_epoch < self.trainer.max_epochs - self.cfg.mixup.off_last_epochs

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss_fn = self.loss_fn
        if self.mixing():
            images, targets = self.mixup(batch["image"], batch["target"])
            batch, loss_fn = {**batch, "image": images, "target": targets}, self.mixed_loss_fn
        loss = loss_fn(self(batch), batch["target"])
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        outputs = self(batch)
        self.log("val/loss", self.loss_fn(outputs, batch["target"]), prog_bar=True)
        self._val_preds.append(self.problem.activate(outputs).cpu())
        self._val_targets.append(batch["target"].cpu())

    def on_validation_epoch_end(self) -> None:
        preds, targets = torch.cat(self._val_preds).numpy(), torch.cat(self._val_targets).numpy()
        self._val_preds.clear()
        self._val_targets.clear()
        # The sanity check sees two batches, too few classes for some metrics; skip scoring it.
        if not self.trainer.sanity_checking:
            self.log(self.monitor, self.metric(targets, preds, self.problem.kind), prog_bar=True)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return tta_predict(self.net, batch["image"], self.tta_views, self.problem.activate)

    def configure_optimizers(self):
        o = self.cfg.optim
        head = {"params": list(self.net.head.parameters()), "lr": o.lr}
        backbone = {"params": list(self.net.backbone.parameters()), "lr": o.backbone_lr or o.lr}
        # With a frozen start, BackboneFinetuning adds the backbone's group itself when it unfreezes it.
        groups = [head] if o.freeze_backbone_epochs else [backbone, head]
        if o.name == "sgd":
            optimizer = torch.optim.SGD(groups, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=True)
        else:
            optimizer = torch.optim.AdamW(groups, weight_decay=o.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 2)
        warmup = min(max(int(total * o.warmup_pct), 1), total - 1)
        if o.schedule == "onecycle":
            lrs = [group["lr"] for group in groups]
            schedule = OneCycleLR(optimizer, max_lr=lrs, total_steps=total, pct_start=max(o.warmup_pct, 0.01))
        elif o.schedule == "cosine":
            warm = LinearLR(optimizer, start_factor=0.01, total_iters=warmup)
            decay = CosineAnnealingLR(optimizer, T_max=total - warmup)
            schedule = SequentialLR(optimizer, [warm, decay], milestones=[warmup])
        else:
            schedule = LambdaLR(optimizer, lambda step: 1.0)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
