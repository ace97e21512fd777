"""One LightningDataModule per fold: train on the other folds, validate on this one. The full-data refit
(fold layout.FULL) trains on every row and validates on none. With data.pseudo_labels, the test rows join the
training rows (pseudo.py)."""

from __future__ import annotations

import lightning as L
from torch import nn
from torch.utils.data import DataLoader

from ..config import Config
from ..data.competition import Competition
from ..tasks import Task
from .pseudo import with_pseudo_labels


class FoldDataModule(L.LightningDataModule):
    """The datasets are made (texts tokenized) once per fold; every epoch and prediction reuses them."""

    def __init__(self, cfg: Config, task: Task, competition: Competition, fold: int | str, net: nn.Module):
        super().__init__()
        self.cfg, self.task, train = cfg, task, competition.train
        self.batch_size = cfg.data.batch_size  # an attribute, so Lightning's batch-size finder can change it
        self.train_rows = train[train.fold != fold].reset_index(drop=True)
        self.valid_rows = train[train.fold == fold].reset_index(drop=True)
        rows, targets, self.pseudo_rows = self.train_rows, None, 0
        if cfg.data.pseudo_labels:  # the test rows, labelled by another experiment's models of this fold
            rows, targets, self.pseudo_rows = with_pseudo_labels(cfg, competition, self.train_rows, fold)
        self.train_set = task.make_dataset(cfg, net, rows, "train", competition.problem, targets)
        self.valid_set = (
            task.make_dataset(cfg, net, self.valid_rows, "valid", competition.problem) if len(self.valid_rows) else None
        )

    def train_dataloader(self) -> DataLoader:
        return self.task.loader(self.cfg, self.train_set, train=True, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader | list:
        if self.valid_set is None:  # the refit's: Lightning runs no validation
            return []
        return self.task.loader(self.cfg, self.valid_set, batch_size=self.batch_size)
