"""Which image files are bad, before any training: missing, empty, cut short, or (where bad rows are skipped) not
decodable. A JPEG or PNG cut short by a download or a copy that did not finish still decodes, its missing rows
grey, so each file's end is checked: a whole JPEG ends with its end-of-image marker, a whole PNG with its IEND
chunk. A file that does not (a camera's trailer after the image, say) is decoded strictly by Pillow, which
refuses what is cut short. That reads a few bytes of most files: every run checks every image."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from ...run.errors import DataError
from .data import read_image

JPEG, JPEG_END = b"\xff\xd8", b"\xff\xd9"
PNG, PNG_END = b"\x89PNG\r\n\x1a\n", b"\x00\x00\x00\x00IEND\xaeB`\x82"
CUT = "is cut short: the file ends before its image does (a download or copy that did not finish)"


def file_size(path: Path) -> int:
    """The file's size in bytes; -1 when there is no such file, -2 when a folder has its name."""
    try:
        return path.stat().st_size if path.is_file() else -2 if path.is_dir() else -1
    except OSError:
        return -1


def ends_whole(path: Path) -> bool:
    """A JPEG that ends with its end-of-image marker, a PNG with its IEND chunk, or a file of another format (its
    decoder's to refuse)."""
    with path.open("rb") as file:
        head = file.read(len(PNG))
        file.seek(max(file.seek(0, 2) - len(PNG_END), 0))
        tail = file.read()
    if head.startswith(JPEG):
        return tail.endswith(JPEG_END)
    return tail.endswith(PNG_END) if head.startswith(PNG) else True


def decodes_whole(path: Path) -> bool:
    """Pillow decodes the file to its last byte (a JPEG at an eighth of its size: every byte is still read)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft(image.mode, (1, 1))
            image.load()
    except Image.DecompressionBombError:
        return True  # very large, and whole: not this check's to refuse
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def unreadable(path: Path) -> bool:
    try:
        read_image(path)
    except DataError:
        return True
    return False


def why_bad(path: Path, decode: bool) -> str | None:
    whole = ends_whole(path)
    if not whole and not decodes_whole(path):
        return f"{path} {CUT}"
    if (decode or not whole) and unreadable(path):  # a file that ends oddly is decoded once, whatever `decode`
        return f"{path} is not a readable image"
    return None


def bad_images(paths: pd.Series, decode: bool) -> pd.Series:
    """Why each bad image is bad, indexed like `paths`: missing, empty, cut short, or (with `decode`) not
    decodable. Decoding every image is worth it only when bad rows are to be skipped rather than refused: a
    file that does not decode stops training naming it."""
    sizes = paths.map(file_size)
    present = paths[sizes > 0]
    if decode:
        with ThreadPoolExecutor() as pool:  # OpenCV decodes outside the GIL
            found = pd.Series(list(pool.map(lambda path: why_bad(path, decode), present)), index=present.index)
    else:  # a few bytes of each file: threads would cost more than they save
        found = present.map(lambda path: why_bad(path, decode))
    reasons = pd.concat(
        [
            paths[sizes == -1].map(lambda p: f"{p} does not exist"),
            paths[sizes == -2].map(lambda p: f"{p} is a folder, not an image file"),
            paths[sizes == 0].map(lambda p: f"{p} is empty (0 bytes)"),
            found.dropna(),
        ]
    )
    return reasons.sort_index()
