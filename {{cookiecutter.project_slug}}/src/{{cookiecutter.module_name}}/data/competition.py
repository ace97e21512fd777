"""The competition's tables, read and checked once: train (with folds), test, sample submission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Config
from ..demo import ensure_demo
from ..folds import assign_folds
from ..problem import Problem


def read_table(path: Path, columns: list[str], id_col: str, what: str) -> pd.DataFrame:
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
    duplicated = table[id_col].duplicated()
    if duplicated.any():
        raise ValueError(f"{path}: id column {id_col!r} is not unique ({table[id_col][duplicated].iloc[0]!r} repeats)")
    return table


@dataclass
class Competition:
    train: pd.DataFrame  # with a `fold` column, unless loaded without folds
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    problem: Problem


def load_competition(cfg: Config, folds: bool = True) -> Competition:
    """The tables of data.dir; `folds=False` (prediction) neither needs nor writes the folds file."""
    d = cfg.data
    root = Path(d.dir)
    ensure_demo(root)
    train = read_table(root / d.train_csv, [d.id_col, *d.target_cols], d.id_col, "train table")
    return Competition(
        train=assign_folds(train, cfg) if folds else train,
        test=read_table(root / d.test_csv, [d.id_col], d.id_col, "test table"),
        sample_submission=read_table(root / d.sample_submission, [d.id_col], d.id_col, "sample submission"),
        problem=Problem.from_train(cfg.problem, d.target_cols, train, str(root / d.train_csv)),
    )
