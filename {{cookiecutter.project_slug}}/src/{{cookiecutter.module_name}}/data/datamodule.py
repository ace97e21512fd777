"""One LightningDataModule per fold: train on the other folds, validate on this one."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import lightning as L
import pandas as pd
from torch.utils.data import DataLoader

from ..config import Config
from ..problem import Problem
from .competition import Competition
from .vision import ImageDataset, config_transforms, seed_worker


def image_loader(
    cfg: Config, rows: pd.DataFrame, image: str, transform: A.Compose, problem: Problem | None, train: bool = False
) -> DataLoader:
    """Batches of `rows`, whose images live at `image` (a path template) under data.dir; with targets if `problem`."""
    root = Path(cfg.data.dir)
    paths = [root / image.format(**row) for row in rows.to_dict("records")]
    dataset = ImageDataset(paths, problem.encode(rows) if problem else None, transform, cfg.model.in_chans)
    workers = cfg.data.num_workers
    return DataLoader(
        dataset,
        batch_size=cfg.data.batch_size,
        shuffle=train,
        drop_last=train,  # an odd last batch of one row breaks BatchNorm and batch mixup
        num_workers=workers,
        persistent_workers=workers > 0,
        worker_init_fn=seed_worker if workers else None,
    )


class FoldDataModule(L.LightningDataModule):
    def __init__(self, cfg: Config, competition: Competition, fold: int, mean: tuple, std: tuple):
        super().__init__()
        self.cfg, self.problem = cfg, competition.problem
        self.train_rows = competition.train[competition.train.fold != fold].reset_index(drop=True)
        self.valid_rows = competition.train[competition.train.fold == fold].reset_index(drop=True)
        self.train_transform = config_transforms(cfg, train=True, mean=mean, std=std)
        self.eval_transform = config_transforms(cfg, train=False, mean=mean, std=std)

    def train_dataloader(self) -> DataLoader:
        image = self.cfg.data.train_image
        return image_loader(self.cfg, self.train_rows, image, self.train_transform, self.problem, train=True)

    def val_dataloader(self) -> DataLoader:
        return image_loader(self.cfg, self.valid_rows, self.cfg.data.train_image, self.eval_transform, self.problem)
