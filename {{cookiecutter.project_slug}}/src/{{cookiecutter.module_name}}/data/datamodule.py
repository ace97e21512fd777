"""Datasets and loaders for either task, and one LightningDataModule per fold: train on the other folds,
validate on this one."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pandas as pd
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..config import Config
from ..problem import Problem
from .competition import Competition


def make_dataset(cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem: Problem | None) -> Dataset:
    """The rows of train.csv (split "train" or "valid", with targets from `problem`) or of test.csv ("test")."""
    targets = problem.encode(rows) if problem else None
    d = cfg.data
    if cfg.task == "nlp":
        from .text import TextDataset

        labels = None
        if problem and cfg.model.mode == "text2text":  # the label as text is what T5 learns to write
            labels = net.tokenizer(text_target=rows[problem.target_cols[0]].astype(str).tolist())["input_ids"]
        return TextDataset(
            rows, d.id_col, d.text_cols, net.tokenizer, d.max_length, targets, labels, d.padding == "max_length"
        )
    from .vision import ImageDataset, config_transforms

    image = d.test_image if split == "test" else d.train_image  # a path template filled from each row
    paths = [Path(d.dir) / image.format(**row) for row in rows.to_dict("records")]
    transform = config_transforms(cfg, split == "train", *net.mean_std)
    return ImageDataset(paths, targets, transform, cfg.model.in_chans)


def make_loader(cfg: Config, dataset: Dataset, train: bool = False) -> DataLoader:
    sampler = None
    if train and cfg.task == "nlp" and cfg.data.group_by_length:
        from transformers.trainer_pt_utils import LengthGroupedSampler

        # Shuffled, then sorted by length within chunks of 50 batches: little padding, still random batches.
        sampler = LengthGroupedSampler(cfg.data.batch_size, lengths=dataset.lengths)
    workers, worker_init_fn = cfg.data.num_workers, None
    if workers and cfg.task == "vision":
        from .vision import seed_worker as worker_init_fn  # seeds each worker's augmentations apart
    return DataLoader(
        dataset,
        batch_size=cfg.data.batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        # An odd last batch of one image breaks BatchNorm and timm's batch mixup; text models have neither.
        drop_last=train and cfg.task == "vision",
        collate_fn=getattr(dataset, "collate", None),  # text: pads each batch to its longest text
        num_workers=workers,
        persistent_workers=workers > 0,
        worker_init_fn=worker_init_fn,
    )


class FoldDataModule(L.LightningDataModule):
    """The datasets are made (texts tokenized) once per fold; every epoch and prediction reuses them."""

    def __init__(self, cfg: Config, competition: Competition, fold: int, net: nn.Module):
        super().__init__()
        self.cfg, train = cfg, competition.train
        self.train_rows = train[train.fold != fold].reset_index(drop=True)
        self.valid_rows = train[train.fold == fold].reset_index(drop=True)
        self.train_set = make_dataset(cfg, net, self.train_rows, "train", competition.problem)
        self.valid_set = make_dataset(cfg, net, self.valid_rows, "valid", competition.problem)

    def train_dataloader(self) -> DataLoader:
        return make_loader(self.cfg, self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return make_loader(self.cfg, self.valid_set)
