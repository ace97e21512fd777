"""Write files all at once or not at all, so an interrupted run or a full disk never leaves half a CSV behind,
and a write the machine refuses is one line naming the file."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DiskError

FULL = {errno.ENOSPC, errno.EDQUOT}
REFUSED = FULL | {errno.EROFS, errno.EACCES, errno.EPERM}


def umask() -> int:
    """This process's umask (reading it means setting it: it is put straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[Path], Any], mask: int | None = None, needed: int | None = None) -> None:
    """Call `write(tmp_path)`, then rename the temporary file onto `path` (atomic on one filesystem). The
    temporary file sits beside `path`, so the rename never crosses filesystems, and it gets the mode a plain
    open() would give (mkstemp's 0600 would make shared folders unreadable to the team). A thread passes the
    umask as `mask`, read by the main thread: reading it means setting it for an instant, for every thread.
    `needed`: the bytes the file takes, where known, for the message of a full disk."""
    path = Path(path)
    with refused_writes(path, needed):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            write(Path(tmp))
            os.chmod(tmp, 0o666 & ~(umask() if mask is None else mask))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


@contextmanager
def refused_writes(path: Path, needed: int | None = None) -> Iterator[None]:
    """A full disk, a read-only folder or a missing permission while writing `path` (of `needed` bytes, where
    known) as a DiskError naming it, with the space free there."""
    try:
        yield
    except OSError as error:
        if error.errno not in REFUSED:
            raise
        raise DiskError(refusal(Path(path), error, needed)) from None


def refusal(path: Path, error: OSError, needed: int | None) -> str:
    if error.errno not in FULL:
        return f"cannot write {path}: {error.strerror}; make its folder writable, or write elsewhere (output_dir)"
    need = f"{megabytes(needed)} needed, " if needed else ""
    return (
        f"cannot write {path}: {error.strerror} ({need}{megabytes(free_bytes(path))} free there); the files written "
        "before stay as they were: free some space, or set output_dir (data.cache_dir for the image cache) to a "
        "larger disk, and run the command again (train.py with --resume goes on from the last checkpoint)"
    )


def free_bytes(path: Path) -> int:
    """The space free on the disk that holds `path` (or its nearest existing folder)."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def megabytes(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"


def write_csv(df: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda tmp: df.to_csv(tmp, index=False))


def write_json(data: Any, path: Path) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def write_text(text: str, path: Path) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_weights(net, path: Path, metadata: dict[str, str]) -> None:
    """model.safetensors: a network's weights, tied ones (T5's embeddings) once and channels_last ones
    contiguous (save_model). safetensors reports a full disk as its own error: it is an OSError here."""
    import re

    from safetensors import SafetensorError
    from safetensors.torch import save_model

    def write(tmp: Path) -> None:
        try:
            save_model(net, str(tmp), metadata)
        except SafetensorError as error:
            code = re.search(r"os error (\d+)", str(error))
            if code is None:
                raise
            raise OSError(int(code[1]), os.strerror(int(code[1]))) from None

    needed = sum(tensor.nbytes for tensor in net.state_dict().values())
    write_atomic(path, write, needed=needed)
