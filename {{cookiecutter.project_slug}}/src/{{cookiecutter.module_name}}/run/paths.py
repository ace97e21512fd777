"""A path as a message names it: what is there (a file, a folder, nothing), and for a relative path the working
folder it was read from, since the same words name another place from another folder."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]  # holds train.py, configs/ and src/


def shown(path: str | Path) -> str:
    """`path`, and where it is relative, the working folder it was read from; where it is there from the project's
    folder instead, that too."""
    path = Path(path)
    if path.is_absolute():
        return str(path)
    text = f"{path} (from the working folder {Path.cwd()}"
    if Path.cwd().resolve() != PROJECT and (PROJECT / path).exists():
        text += f"; the project's {PROJECT / path} is there: run from {PROJECT}, or give the full path"
    return text + ")"


def found(path: str | Path) -> str:
    path = Path(path)
    return "is a folder" if path.is_dir() else "is a file" if path.exists() else "does not exist"


def not_a(path: str | Path, wanted: str) -> str | None:
    """Why `path` is not the `wanted` kind ('file' or 'folder'), in words, or None where it is."""
    path = Path(path)
    if path.is_file() if wanted == "file" else path.is_dir():
        return None
    there = found(path)
    return f"{shown(path)} {there}" + ("" if there == "does not exist" else f", not a {wanted}")
