"""One LightningDataModule per fold: train on the other folds, validate on this one."""

from __future__ import annotations

import lightning as L
from torch import nn
from torch.utils.data import DataLoader

from ..config import Config
from ..tasks import Task
from .competition import Competition
from .loaders import make_loader


class FoldDataModule(L.LightningDataModule):
    """The datasets are made (texts tokenized) once per fold; every epoch and prediction reuses them."""

    def __init__(self, cfg: Config, task: Task, competition: Competition, fold: int, net: nn.Module):
        super().__init__()
        self.cfg, self.task, train = cfg, task, competition.train
        self.batch_size = cfg.data.batch_size  # an attribute, so Lightning's batch-size finder can change it
        self.train_rows = train[train.fold != fold].reset_index(drop=True)
        self.valid_rows = train[train.fold == fold].reset_index(drop=True)
        self.train_set = task.make_dataset(cfg, net, self.train_rows, "train", competition.problem)
        self.valid_set = task.make_dataset(cfg, net, self.valid_rows, "valid", competition.problem)

    def train_dataloader(self) -> DataLoader:
        return make_loader(self.cfg, self.task, self.train_set, train=True, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return make_loader(self.cfg, self.task, self.valid_set, batch_size=self.batch_size)
