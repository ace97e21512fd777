"""Checkpoints written whole or not at all, and off the training thread (AtomicCheckpointIO)."""

from __future__ import annotations

import copy
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ..run.io import umask, write_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all, through a temporary file in their own folder and a rename.
    Lightning's own save goes through $TMPDIR, and across filesystems its move first empties the old
    last.ckpt: a kill at that moment would leave no good checkpoint, and killed runs leave temp files behind.

    Written by one background thread, in order: training waits only for a copy of the tensors on the CPU,
    not for the disk (seconds per epoch for a large model and its optimizer state). Reading, removing and the
    end of fit() wait for every write before. last.ckpt of the epoch whose best.ckpt was just written holds
    the same training state: it becomes a hard link to it instead of a second write of the same bytes (a
    rename replaces either file later, never both)."""

    def __init__(self):
        super().__init__()
        self.previous: tuple[tuple, Path] | None = None  # (epoch, step) and path of the last checkpoint saved
        self.writer: ThreadPoolExecutor | None = None
        self.pending: list[Future] = []

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        self.raise_failed()
        path, at, previous = Path(path), (checkpoint.get("epoch"), checkpoint.get("global_step")), self.previous
        if previous and previous[0] == at and None not in at and previous[1] != path:
            write, needed = partial(link_or_copy, previous[1]), None
        else:  # a copy taken now: training goes on changing the weights and the optimizer state in place
            copied = on_cpu(checkpoint)
            write, needed = partial(save, copied), tensor_bytes(copied)
        self.previous = (at, path)
        self.writer = self.writer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self.pending.append(self.writer.submit(write_atomic, path, write, umask(), needed))

    def raise_failed(self) -> None:
        """Raise the error of a write that failed (a full disk) at the next call, not never."""
        for future in [future for future in self.pending if future.done()]:
            self.pending.remove(future)
            future.result()

    def wait(self) -> None:
        """Every checkpoint saved so far is on disk."""
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def load_checkpoint(self, *args, **kwargs) -> dict:
        self.wait()  # the LR and batch-size finders read back what they just saved
        return super().load_checkpoint(*args, **kwargs)

    def remove_checkpoint(self, path) -> None:
        self.wait()
        if self.previous and self.previous[1] == Path(path):
            self.previous = None
        super().remove_checkpoint(path)

    def teardown(self) -> None:
        """The end of fit(), also when it failed: every write finished, so the fold reads what it saved."""
        self.wait()
        if self.writer is not None:
            self.writer.shutdown()
            self.writer = None


def on_cpu(value):
    """A checkpoint with a copy of each of its tensors on the CPU; containers rebuilt, other values as they are."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        copied = copy.copy(value)  # keeps an OrderedDict or a defaultdict what it is
        copied.update((key, on_cpu(item)) for key, item in value.items())
        return copied
    if isinstance(value, list):
        return [on_cpu(item) for item in value]
    if isinstance(value, tuple):
        items = [on_cpu(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def save(checkpoint: dict, tmp: Path) -> None:
    """torch.save through a Python file: a full disk is then an OSError naming its errno, where torch's own
    writer to a path says only 'unexpected pos'."""
    with open(tmp, "wb") as file:
        torch.save(checkpoint, file)


def tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.nbytes
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
    return sum(tensor_bytes(item) for item in items)


def link_or_copy(source: Path, tmp: Path) -> None:
    tmp.unlink()  # write_atomic made it; a link needs the name free
    try:
        os.link(source, tmp)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, tmp)
