"""The one error path of every entry script: a user's mistake is one line on stderr and exit code 2.

    @cli.entry
    def main(argv=None): ...

`UserError` (a config key, a data file, a flag) exits 2; a file this user may not write, or a full disk,
exits 2 naming the path; a NaN loss exits 1; Ctrl+C exits 130. Other exceptions are bugs and keep their traceback.
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import NonFiniteLossError, UserError
from .io import REFUSED, free_bytes, megabytes, refusal

F = TypeVar("F", bound=Callable)
# What the machine, not the code, refuses: the path is the user's to fix.
ENVIRONMENT = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR}


def one_line(error: BaseException) -> str:
    """The error's message on one line. An error raised in a DataLoader worker arrives with the worker's
    traceback in its text: its last line holds the message."""
    text = str(error).strip()
    if "Original Traceback" in text:
        text = text.splitlines()[-1].split(": ", 1)[-1]
    return " ".join(text.split("\n"))


def fail(code: int, message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def entry(main: F) -> F:
    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            fail(2, one_line(error))
        except NonFiniteLossError as error:
            fail(1, one_line(error))
        except OSError as error:
            if error.errno not in ENVIRONMENT:
                raise
            if error.errno in REFUSED and error.filename:
                fail(2, refusal(Path(error.filename), error, None))
            free = megabytes(free_bytes(Path.cwd()))
            fail(2, f"{error.filename or 'a write'}: {error.strerror} (check the permissions; {free} free here)")
        except KeyboardInterrupt:
            fail(130, "interrupted; an unfinished fold continues from its last checkpoint with --resume")

    return wrapped  # type: ignore[return-value]
