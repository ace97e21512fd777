"""The DataLoader of any task's dataset (tasks.Task.loader adds the task's own options); no Lightning here, so
predict.py runs without it."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from ..config import Config
from .workers import num_workers


class EpochShuffle(RandomSampler):
    """A shuffle whose order follows from (seed, epoch) alone, so a resumed fold sees the batches an
    uninterrupted one would have. Lightning calls set_epoch before each epoch (and under DDP puts its
    DistributedSampler, seeded the same way, in its place)."""

    def __init__(self, dataset: Dataset, seed: int):
        super().__init__(dataset, generator=torch.Generator().manual_seed(seed))
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


def make_loader(
    cfg: Config,
    dataset: Dataset,
    train: bool = False,
    batch_size: int | None = None,
    drop_last: bool = False,
    **options: Any,
) -> DataLoader:
    """Training loaders shuffle (unless `options` bring a sampler of their own) and may drop the last partial
    batch; the others keep the rows' order. `options` are the task's own DataLoader arguments (a collate_fn)."""
    batch_size, workers = batch_size or cfg.data.batch_size, num_workers(cfg.data.num_workers, dataset)
    if train:
        options.setdefault("sampler", EpochShuffle(dataset, cfg.seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        # Its own generator: starting an epoch's iterator then leaves the global one, which dropout and
        # mixup draw from, as each epoch's reseeding set it, whether the fold was resumed or not.
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=train and drop_last,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),  # faster copies to the GPU
        persistent_workers=workers > 0,  # started once per fold, not once per epoch
        prefetch_factor=4 if workers else None,  # batches each worker keeps ready
        **options,
    )
