"""The one LightningModule: loss, validation metric, optimizer and schedule around a plain network."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

from .config import Config
from .metrics import get_metric


class CompetitionModule(L.LightningModule):
    def __init__(self, net: nn.Module, cfg: Config):
        super().__init__()
        self.net, self.cfg = net, cfg
        self.metric = get_metric(cfg.metric)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.optim.label_smoothing)
        self.save_hyperparameters({"config": cfg.to_dict()})
        self._val_probs: list[torch.Tensor] = []
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
        logits = self(batch)
        self.log("val/loss", self.loss_fn(logits, batch["target"]), prog_bar=True)
        self._val_probs.append(logits.float().softmax(dim=1).cpu())
        self._val_targets.append(batch["target"].cpu())

    def on_validation_epoch_end(self) -> None:
        probs, targets = torch.cat(self._val_probs).numpy(), torch.cat(self._val_targets).numpy()
        self._val_probs.clear()
        self._val_targets.clear()
        # The sanity check sees two batches, too few classes for some metrics; skip scoring it.
        if not self.trainer.sanity_checking:
            self.log(self.monitor, self.metric(targets, probs), prog_bar=True)

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self(batch).float().softmax(dim=1)

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
