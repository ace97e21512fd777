"""The one LightningModule: loss, validation metric, optimizer and schedule around a plain network."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from .config import Config
from .metrics import get_metric
from .problem import Problem


class CompetitionModule(L.LightningModule):
    def __init__(self, net: nn.Module, cfg: Config, problem: Problem):
        super().__init__()
        self.net, self.cfg, self.problem = net, cfg, problem
        self.metric = get_metric(cfg.metric)
        self.loss_fn = problem.loss(cfg.optim.label_smoothing)
        self.save_hyperparameters({"config": cfg.to_dict()})
        self._val_preds: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    @property
    def monitor(self) -> str:
        """The logged name of the validation metric that picks the checkpoint."""
        return f"val/{self.cfg.metric}"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["image"])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss_fn(self(batch), batch["target"])
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
        return self.problem.activate(self(batch))

    def configure_optimizers(self):
        optim = self.cfg.optim
        optimizer = torch.optim.AdamW(self.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = min(max(int(total * optim.warmup_pct), 1), total - 1) if total > 1 else 0
        schedule = CosineAnnealingLR(optimizer, T_max=max(total - warmup, 1))
        if warmup:
            schedule = SequentialLR(
                optimizer, [LinearLR(optimizer, start_factor=0.01, total_iters=warmup), schedule], milestones=[warmup]
            )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
