"""The LightningModule: loss, mixup, validation metric, TTA, optimizer and schedule around a plain network.

One module serves images and texts; T5 text-to-text, which learns and predicts by writing the label,
overrides its steps in Text2TextModule.
"""

from __future__ import annotations

import math
import re
from functools import partial

import lightning as L
import numpy as np
import torch
from timm.data import Mixup
from timm.data.mixup import mixup_target
from timm.loss import SoftTargetCrossEntropy
from torch import nn
from torch.nn import functional as F
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR

from .config import Config
from .metrics import get_metric
from .models import predict_batch
from .problem import Problem

INPUTS = ("image", "input_ids", "attention_mask", "labels")  # the batch keys a network takes
# A parameter inside layer N of a transformer: BERT-likes' encoder.layer.N, T5's encoder.block.N.
LAYER = re.compile(r"\.(?:layer|layers|block)\.(\d+)\.")


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
        return self.net(**{key: batch[key] for key in INPUTS if key in batch})

    def mixing(self) -> bool:
        return self.mixup is not None and self.current_epoch < self.trainer.max_epochs - self.cfg.mixup.off_last_epochs

    def mixed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs of a mixed batch and its soft targets. Images: timm's mixup or cutmix. Texts: the
        pooled features of each row and of its mirror in the batch, mixed by one lambda for the batch,
        with the targets mixed by timm the same way."""
        if "image" in batch:
            images, targets = self.mixup(batch["image"], batch["target"])
            return self.net(images), targets
        m = self.cfg.mixup
        lam = float(np.random.beta(m.mixup_alpha, m.mixup_alpha)) if np.random.rand() < m.prob else 1.0
        features = self.net.features(batch["input_ids"], batch["attention_mask"])
        mix = self.mixup
        targets = mixup_target(batch["target"], mix.num_classes, lam, mix.label_smoothing, mix.multi_label)
        return self.net.classify(features * lam + features.flip(0) * (1 - lam)), targets

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.mixed_loss_fn(*self.mixed(batch)) if self.mixing() else self.loss_fn(self(batch), batch["target"])
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
        return predict_batch(self.net, batch, self.problem, self.cfg.tta.views)

    def param_groups(self) -> list[dict]:
        o = self.cfg.optim
        head = getattr(self.net, "head", None)  # text2text has none: T5 writes the answer
        groups = [{"params": list(head.parameters()), "lr": o.lr}] if head is not None else []
        # The backbone's groups are here from the start, frozen or not, so the LR schedule knows every group;
        # while optim.freeze_backbone_epochs holds it frozen, its parameters get no gradients and are skipped.
        backbone_lr = o.backbone_lr or o.lr
        if o.layer_decay == 1:
            return [{"params": list(self.net.backbone.parameters()), "lr": backbone_lr}, *groups]
        return layer_decay_groups(self.net.backbone, backbone_lr, o.layer_decay) + groups

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
        o = self.cfg.optim
        groups = self.param_groups()
        if o.name == "sgd":
            optimizer = torch.optim.SGD(groups, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=True)
        else:
            optimizer = torch.optim.AdamW(groups, weight_decay=o.weight_decay)
        total = max(self.optimizer_steps(), 2)
        if o.schedule == "onecycle":
            lrs = [group["lr"] for group in groups]
            schedule = OneCycleLR(optimizer, max_lr=lrs, total_steps=total, pct_start=max(o.warmup_pct, 0.01))
        else:
            warmup = min(max(int(total * o.warmup_pct), 1), total - 1)
            factor = partial(lr_factor, total=total, warmup=warmup, schedule=o.schedule)
            a = self.cfg.averaging
            if a.weights == "swa" and a.swa_lr is not None:
                steps_per_epoch = total // max(self.trainer.max_epochs, 1)
                factor = partial(
                    swa_lr_factor,
                    base=factor,
                    start=a.swa_start_epoch * steps_per_epoch,
                    anneal=a.swa_anneal_epochs * steps_per_epoch,
                    target=a.swa_lr / o.lr,
                )
            schedule = LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """The learning rate at optimizer step `step`, as a share of the configured one: a linear warmup from 1%,
    then a cosine or linear decay to 0 at step `total`; or constant."""
    if schedule == "constant":
        return 1.0
    if step < warmup:
        return 0.01 + 0.99 * step / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return 0.5 * (1 + math.cos(math.pi * progress)) if schedule == "cosine" else 1 - progress


def swa_lr_factor(step: int, base, start: int, anneal: int, target: float) -> float:
    """`base` until SWA starts at step `start`; then a cosine anneal over `anneal` steps to `target`, kept
    constant while the weights are averaged."""
    if step < start:
        return base(step)
    done = min((step - start) / max(anneal, 1), 1.0)
    return target + (base(start) - target) * 0.5 * (1 + math.cos(math.pi * done))


def layer_decay_groups(backbone: nn.Module, lr: float, decay: float) -> list[dict]:
    """Layer-wise learning-rate decay: the top layer (and what sits above the layers: final norms, poolers)
    trains at `lr`, each layer below at `decay` times the one above it, the embeddings lowest."""
    depths = {}
    for name, _ in backbone.named_parameters():
        layer = LAYER.search(name)
        depths[name] = int(layer[1]) + 1 if layer else 0 if "embed" in name or "shared" in name else None
    top = max((depth for depth in depths.values() if depth is not None), default=0) + 1
    groups: dict[int, list] = {}
    for name, param in backbone.named_parameters():
        groups.setdefault(top if depths[name] is None else depths[name], []).append(param)
    return [{"params": params, "lr": lr * decay ** (top - depth)} for depth, params in sorted(groups.items())]


class Text2TextModule(CompetitionModule):
    """T5 writes the label: token cross-entropy (with label smoothing) to learn, generation to predict."""

    def token_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self(batch)
        smoothing = self.cfg.optim.label_smoothing
        return F.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), label_smoothing=smoothing)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.token_loss(batch)  # -100, the labels' padding, is skipped
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self.token_loss(batch), prog_bar=True, sync_dist=True)
        self.keep_for_metric(predict_batch(self.net, batch, self.problem), batch)


def make_module(net: nn.Module, cfg: Config, problem: Problem) -> CompetitionModule:
    text2text = cfg.task == "nlp" and cfg.model.mode == "text2text"
    return (Text2TextModule if text2text else CompetitionModule)(net, cfg, problem)
