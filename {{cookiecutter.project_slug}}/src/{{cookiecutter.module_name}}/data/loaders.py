"""Datasets and loaders for either task; no Lightning here, so predict.py runs without it."""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from ..config import Config
from ..problem import Problem


def make_dataset(cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem: Problem | None) -> Dataset:
    """The rows of train.csv (split "train" or "valid", with targets from `problem`) or of test.csv ("test")."""
    targets = problem.encode(rows) if problem else None
    d = cfg.data
    if cfg.task == "nlp":
        from .text import TextDataset

        labels = None
        if problem and cfg.model.mode == "text2text":  # the label as text is what T5 learns to write
            labels = net.tokenizer(text_target=rows[problem.target_cols[0]].astype(str).tolist())["input_ids"]
        return TextDataset(rows, d.text_cols, net.tokenizer, d.max_length, targets, labels, d.padding == "max_length")
    from .competition import image_paths
    from .vision import ImageDataset, config_transforms

    transform = config_transforms(cfg, split == "train", *net.mean_std)
    # Test rows whose image did not read were kept on purpose (data.skip_bad_rows): a blank image stands in.
    blank = d.image_size if split == "test" and d.skip_bad_rows else None
    return ImageDataset(image_paths(cfg, rows, split), targets, transform, cfg.model.in_chans, blank)


class EpochShuffle(RandomSampler):
    """A shuffle whose order follows from (seed, epoch) alone, so a resumed fold sees the batches an
    uninterrupted one would have. Lightning calls set_epoch before each epoch (and under DDP puts its
    DistributedSampler, seeded the same way, in its place)."""

    def __init__(self, dataset: Dataset, seed: int):
        super().__init__(dataset, generator=torch.Generator().manual_seed(seed))
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


def make_loader(cfg: Config, dataset: Dataset, train: bool = False, batch_size: int | None = None) -> DataLoader:
    batch_size, sampler = batch_size or cfg.data.batch_size, None
    if train and cfg.task == "nlp" and cfg.data.group_by_length:
        from transformers.trainer_pt_utils import LengthGroupedSampler

        # Shuffled, then sorted by length within chunks of 50 batches: little padding, still random batches.
        # It shuffles with the global generator, which each epoch reseeds (trainer.Guards).
        sampler = LengthGroupedSampler(batch_size, lengths=dataset.lengths)
    elif train:
        sampler = EpochShuffle(dataset, cfg.seed)
    workers, worker_init_fn = cfg.data.num_workers, None
    if workers and train and cfg.task == "vision":
        from .vision import seed_worker as worker_init_fn  # seeds each worker's augmentations apart
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        # Its own generator: starting an epoch's iterator then leaves the global one, which dropout and
        # mixup draw from, as each epoch's reseeding set it, whether the fold was resumed or not.
        generator=torch.Generator().manual_seed(cfg.seed),
        # An odd last batch of one image breaks BatchNorm and timm's batch mixup; text models have neither.
        drop_last=train and cfg.task == "vision",
        collate_fn=getattr(dataset, "collate", None),  # text: pads each batch to its longest text
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),  # faster copies to the GPU
        persistent_workers=workers > 0,
        worker_init_fn=worker_init_fn,
    )
