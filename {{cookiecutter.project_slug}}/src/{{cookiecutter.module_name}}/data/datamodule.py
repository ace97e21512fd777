"""One LightningDataModule per fold: train on the other folds, validate on this one."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pandas as pd
from torch.utils.data import DataLoader, Dataset

from ..config import Config
from .competition import Competition
from .vision import ImageDataset, build_transforms


class FoldDataModule(L.LightningDataModule):
    def __init__(self, cfg: Config, competition: Competition, fold: int, mean: tuple, std: tuple):
        super().__init__()
        self.cfg, self.competition, self.fold = cfg, competition, fold
        self.train_rows = competition.train[competition.train.fold != fold].reset_index(drop=True)
        self.valid_rows = competition.train[competition.train.fold == fold].reset_index(drop=True)
        self.train_transform = build_transforms(cfg, train=True, mean=mean, std=std)
        self.eval_transform = build_transforms(cfg, train=False, mean=mean, std=std)

    def _dataset(self, rows: pd.DataFrame, image: str, train: bool, labelled: bool = True) -> Dataset:
        root = Path(self.cfg.data.dir)
        paths = [root / image.format(**row) for row in rows.to_dict("records")]
        targets = self.competition.targets(rows, self.cfg) if labelled else None
        return ImageDataset(paths, targets, self.train_transform if train else self.eval_transform)

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        workers = self.cfg.data.num_workers
        return DataLoader(
            dataset,
            batch_size=self.cfg.data.batch_size,
            shuffle=train,
            drop_last=train,  # an odd last batch of one row breaks BatchNorm and batch mixup
            num_workers=workers,
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._dataset(self.train_rows, self.cfg.data.train_image, train=True), train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self._dataset(self.valid_rows, self.cfg.data.train_image, train=False), train=False)

    def test_dataloader(self) -> DataLoader:
        test = self._dataset(self.competition.test, self.cfg.data.test_image, train=False, labelled=False)
        return self._loader(test, train=False)
