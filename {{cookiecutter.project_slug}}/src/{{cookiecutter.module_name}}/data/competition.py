"""The competition's tables, read and checked once: train (with folds), test, sample submission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config
from ..demo import ensure_demo
from ..folds import assign_folds


def read_table(path: Path, columns: list[str], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist: check data.dir and the file names in the config")
    table = pd.read_csv(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        names = ", ".join(map(repr, missing))
        raise ValueError(
            f"{path} has no column {names} "
            f"(its columns: {', '.join(table.columns)}); set the column names in the data section of the config"
        )
    return table


@dataclass
class Competition:
    train: pd.DataFrame  # with a `fold` column
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    classes: list  # the target's values, sorted; a class index is a position in this list

    def targets(self, rows: pd.DataFrame, cfg: Config) -> np.ndarray:
        return pd.Index(self.classes).get_indexer(rows[cfg.data.target_col])


def load_competition(cfg: Config) -> Competition:
    d = cfg.data
    root = Path(d.dir)
    ensure_demo(root)
    train = read_table(root / d.train_csv, [d.id_col, d.target_col], "train table")
    test = read_table(root / d.test_csv, [d.id_col], "test table")
    sample = read_table(root / d.sample_submission, [d.id_col], "sample submission")
    return Competition(
        train=assign_folds(train, cfg),
        test=test,
        sample_submission=sample,
        classes=sorted(train[d.target_col].unique().tolist()),
    )
