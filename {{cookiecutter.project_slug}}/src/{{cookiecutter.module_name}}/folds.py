"""Fold assignment: made once per split setting, saved beside the data, reused by every experiment.

Experiments compare on the same rows only if they share one split, so the split is a file, not a
side effect of the seed in each run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from .atomic import write_csv
from .config import Config


def make_folds(train: pd.DataFrame, cfg: Config) -> np.ndarray:
    """The fold index of every row of `train`."""
    n_folds, seed = cfg.cv.n_folds, cfg.seed
    if cfg.cv.splitter == "stratified":
        counts = train[cfg.data.target_col].value_counts()
        if counts.min() < n_folds:
            raise ValueError(
                f"cannot stratify {n_folds} folds: class {counts.idxmin()!r} of column "
                f"{cfg.data.target_col!r} has only {counts.min()} rows; lower cv.n_folds or use "
                "cv.splitter kfold"
            )
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    folds = np.full(len(train), -1)
    for fold, (_, valid_index) in enumerate(splitter.split(train, train[cfg.data.target_col])):
        folds[valid_index] = fold
    return folds


def folds_path(cfg: Config) -> Path:
    return Path(cfg.data.dir) / f"folds-{cfg.cv.splitter}-{cfg.cv.n_folds}-seed{cfg.seed}.csv"


def assign_folds(train: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """`train` with a `fold` column, read from the folds file, which is written first if missing."""
    path, id_col = folds_path(cfg), cfg.data.id_col
    if not path.exists():
        write_csv(pd.DataFrame({id_col: train[id_col], "fold": make_folds(train, cfg)}), path)
    saved = pd.read_csv(path, dtype={id_col: train[id_col].dtype})
    if len(saved) != len(train) or set(saved[id_col]) != set(train[id_col]):
        raise ValueError(
            f"{path} does not list the same {id_col!r} values as {cfg.data.train_csv}: the training "
            "data changed since the folds were made; delete the folds file to make new ones"
        )
    return train.merge(saved, on=id_col, how="left", validate="one_to_one")
