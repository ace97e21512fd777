"""Fold assignment: made once per split setting, saved beside the data, reused by every experiment.

Experiments compare on the same rows only if they share one split, so the split is a file, not a
side effect of the seed in each run. Delete the file to make a new split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from .atomic import write_csv
from .config import Config


def _strata(train: pd.DataFrame, cfg: Config) -> pd.Series:
    """What stratification balances: the class, or for regression the decile of the target."""
    target = train[cfg.data.target_cols[0]]
    if cfg.problem == "regression":
        return pd.qcut(target, q=min(10, target.nunique()), labels=False, duplicates="drop")
    return target


def make_folds(train: pd.DataFrame, cfg: Config) -> np.ndarray:
    """The fold index of every row of `train`."""
    n_folds, seed, splitter = cfg.cv.n_folds, cfg.seed, cfg.cv.splitter
    strata = groups = None
    if splitter in ("stratified", "stratified_group"):
        strata = _strata(train, cfg)
        counts = strata.value_counts()
        if splitter == "stratified" and counts.min() < n_folds:
            raise ValueError(
                f"cannot stratify {n_folds} folds: class {counts.idxmin()!r} of {cfg.data.target_cols[0]!r} has "
                f"only {counts.min()} rows; lower cv.n_folds or use cv.splitter kfold"
            )
    if splitter in ("group", "stratified_group"):
        groups = train[cfg.cv.group_col]
        if groups.nunique() < n_folds:
            raise ValueError(
                f"cannot make {n_folds} folds from {groups.nunique()} groups of {cfg.cv.group_col!r}: lower cv.n_folds"
            )
    split = {
        "kfold": lambda: KFold(n_folds, shuffle=True, random_state=seed).split(train),
        "stratified": lambda: StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(train, strata),
        "group": lambda: GroupKFold(n_folds, shuffle=True, random_state=seed).split(train, groups=groups),
        "stratified_group": lambda: StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed).split(
            train, strata, groups
        ),
        "multilabel": lambda: MultilabelStratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            train, train[cfg.data.target_cols].to_numpy()
        ),
    }[splitter]
    folds = np.full(len(train), -1)
    for fold, (_, valid_index) in enumerate(split()):
        folds[valid_index] = fold
    return folds


def folds_path(cfg: Config) -> Path:
    by = f"-by-{cfg.cv.group_col}" if cfg.cv.splitter in ("group", "stratified_group") else ""
    folder = Path(cfg.cv.folds_dir or cfg.data.dir)
    return folder / f"folds-{cfg.cv.splitter}{by}-{cfg.cv.n_folds}-seed{cfg.seed}.csv"


def check_groups(train: pd.DataFrame, group_col: str) -> None:
    """Refuse a split where one group sits in two folds: its rows would leak into validation."""
    spread = train.groupby(group_col)["fold"].nunique()
    if (spread > 1).any():
        raise ValueError(f"group {spread.idxmax()!r} of {group_col!r} is in {spread.max()} folds: the split leaks")


def assign_folds(train: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """`train` with a `fold` column, read from the folds file, which is written first if missing."""
    path, id_col = folds_path(cfg), cfg.data.id_col
    if not path.exists():
        try:
            write_csv(pd.DataFrame({id_col: train[id_col], "fold": make_folds(train, cfg)}), path)
        except OSError as error:
            raise OSError(
                f"cannot write the folds file {path} ({error.strerror}): set cv.folds_dir to a "
                "writable folder, as in a Kaggle kernel whose data is read-only"
            ) from None
    saved = pd.read_csv(path, dtype={id_col: train[id_col].dtype})
    if len(saved) != len(train) or set(saved[id_col]) != set(train[id_col]):
        raise ValueError(
            f"{path} does not list the same {id_col!r} values as {cfg.data.train_csv}: the training "
            "data changed since the folds were made; delete the folds file to make new ones"
        )
    train = train.merge(saved, on=id_col, how="left", validate="one_to_one")
    if cfg.cv.group_col:
        check_groups(train, cfg.cv.group_col)
    return train
