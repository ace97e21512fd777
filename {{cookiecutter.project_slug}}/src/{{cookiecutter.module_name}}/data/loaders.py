"""The DataLoader of any task's dataset; no Lightning here, so predict.py runs without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from ..config import Config
from .workers import num_workers

if TYPE_CHECKING:
    from ..tasks import Task


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
    cfg: Config, task: Task, dataset: Dataset, train: bool = False, batch_size: int | None = None
) -> DataLoader:
    """Training loaders shuffle (the task may sample its own way) and, where the task says so, drop the last
    partial batch; the others keep the rows' order."""
    batch_size, workers = batch_size or cfg.data.batch_size, num_workers(cfg.data.num_workers, dataset)
    options = task.loader_options(cfg, dataset, train, batch_size)
    if train:
        options.setdefault("sampler", EpochShuffle(dataset, cfg.seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        # Its own generator: starting an epoch's iterator then leaves the global one, which dropout and
        # mixup draw from, as each epoch's reseeding set it, whether the fold was resumed or not.
        generator=torch.Generator().manual_seed(cfg.seed),
        drop_last=train and task.drops_last_batch,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),  # faster copies to the GPU
        persistent_workers=workers > 0,  # started once per fold, not once per epoch
        prefetch_factor=4 if workers else None,  # batches each worker keeps ready
        **options,
    )
