"""data.num_workers: auto: worker processes where loading is slow enough to pay for them, none where it is not.

A real competition's 768-pixel JPEGs take milliseconds each to decode, so one process cannot feed a GPU;
the demo's 32-pixel images take microseconds, and starting workers would cost more than it saves.
"""

from __future__ import annotations

import os
import time

from torch.utils.data import Dataset

AUTO = "auto"
# Starting worker processes and filling their first batches costs seconds, and on a CPU run the workers take
# cores from the training: an epoch the main process loads in less than this is loaded by it alone.
WORKER_START_S = 5.0
MAX_WORKERS = 16  # past this, workers mostly compete for memory bandwidth
SAMPLE = 8  # items timed to estimate an epoch's loading
_told: set[int] = set()


def usable_cpus() -> int:
    """The CPUs this process may run on: a container's or a SLURM job's share, not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def seconds_per_item(dataset: Dataset, sample: int = SAMPLE) -> float:
    """The mean time to load one item, from `sample` items spread over the dataset."""
    count = min(sample, len(dataset))
    if not count:
        return 0.0
    start = time.perf_counter()
    for index in range(count):
        dataset[index * len(dataset) // count]
    return (time.perf_counter() - start) / count


def auto_workers(dataset: Dataset, cpus: int | None = None) -> tuple[int, str]:
    """How many workers load `dataset`, and why: none when one epoch loads in the main process faster than
    workers start; otherwise one per usable CPU but one (left to the main process), at most MAX_WORKERS."""
    cpus = cpus or usable_cpus()
    epoch = seconds_per_item(dataset) * len(dataset)
    if cpus < 2 or epoch < WORKER_START_S:
        return 0, f"one epoch loads in about {epoch:.1f} s in the main process; {cpus} usable CPUs"
    workers = min(cpus - 1, MAX_WORKERS)
    return workers, f"one epoch takes about {epoch:.0f} s to load in one process; {cpus} usable CPUs"


def num_workers(setting: int | str, dataset: Dataset) -> int:
    """The DataLoader's workers for data.num_workers `setting`: a number as given, or auto's choice (printed
    the first time it is made in this process)."""
    if setting != AUTO:
        return int(setting)
    workers, why = auto_workers(dataset)
    if workers not in _told:
        _told.add(workers)
        print(f"data.num_workers auto: {workers} worker{'s' * (workers != 1)}: {why}")
    return workers
