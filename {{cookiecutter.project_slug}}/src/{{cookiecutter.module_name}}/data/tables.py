"""Reading a competition's CSV files: as text, every cell exactly as written."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd

from ..run.errors import DataError

# The column that marks pseudo-labelled test rows among a fold's training rows (pseudo.py), which come last.
PSEUDO = "__pseudo_label__"  # a name no competition table uses


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text, every cell exactly as written: ids such as 00100 or 10.00 and labels such as 07, NA or
    None stay what they are, and an empty cell is ''. Numbers are parsed on purpose where they are meant
    (targets, predictions). A UTF-8 byte-order mark (Excel's) is dropped."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
        check_header(path)
        return table
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not UTF-8 text (byte {error.object[error.start : error.start + 1]!r} at offset {error.start}); "
            "re-save it as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty: a CSV starts with a header row") from None
    except pd.errors.ParserError as error:
        raise DataError(f"{path}: not a well-formed CSV ({str(error).strip()})") from None


def check_header(path: Path) -> None:
    """Refuse a header with an empty or a repeated column name: pandas would name them 'Unnamed: 0' and
    'label.1', and a config's column would then read the wrong one, or none."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        header = next(csv.reader(file), [])
    empty = [index for index, name in enumerate(header) if not name.strip()]
    if empty:
        raise DataError(
            f"{path}: column {empty[0] + 1} of the header has no name (an index written by pandas' to_csv without "
            "index=False?): name the column or remove it"
        )
    repeated = [name for name, count in Counter(header).items() if count > 1]
    if repeated:
        where = [index + 1 for index, name in enumerate(header) if name == repeated[0]]
        raise DataError(
            f"{path}: the header names column {repeated[0]!r} {len(where)} times (columns "
            f"{', '.join(map(str, where))}): give each column a name of its own"
        )
