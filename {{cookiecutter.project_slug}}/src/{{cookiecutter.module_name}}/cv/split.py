"""Fold assignment: made once per split setting, saved beside the data, reused by every experiment; and the
competition read with its folds (load_competition), as every training command reads it.

Experiments compare on the same rows only if they share one split, so the split is a file, not a
side effect of the seed in each run. Delete the file to make a new split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from ..config import Config
from ..config.metrics import undefined_on
from ..data.competition import Competition, check_inputs, read_competition
from ..data.problem import Problem, first_line, natural
from ..data.tables import read_csv
from ..run.errors import ConfigError, DataError
from ..run.io import write_csv
from ..tasks import get_task


def _strata(train: pd.DataFrame, cfg: Config, problem: Problem) -> pd.Series:
    """What stratification balances: the class, or for regression the decile of the target."""
    if problem.kind == "regression":
        target = train[problem.target_cols[0]].astype(float)
        return pd.qcut(target, q=min(10, target.nunique()), labels=False, duplicates="drop")
    return train[problem.target_cols[0]]


def split_inputs(train: pd.DataFrame, cfg: Config, problem: Problem) -> tuple[pd.Series | None, pd.Series | None]:
    """What the splitter balances (strata) and keeps together (groups); a split that cannot be made is
    refused, saying why."""
    n_folds, splitter = cfg.cv.n_folds, cfg.cv.splitter
    strata = groups = None
    if len(train) < 2 * n_folds:
        raise DataError(
            f"{cfg.data.train_csv} has {len(train)} rows, too few for {n_folds} folds (cv.n_folds): "
            "each fold needs rows to train on and rows to validate"
        )
    if splitter in ("stratified", "stratified_group"):
        strata = _strata(train, cfg, problem)
        counts = strata.value_counts()
        if splitter == "stratified" and counts.min() < n_folds:
            raise DataError(
                f"cannot stratify {n_folds} folds: class {counts.idxmin()!r} of {cfg.data.target_cols[0]!r} has "
                f"only {counts.min()} rows; lower cv.n_folds or use cv.splitter kfold"
            )
    if cfg.cv.by_group:
        groups = train[cfg.cv.group_col]
        empty = groups.str.strip() == ""
        if empty.any():
            raise DataError(
                f"{cfg.data.train_csv}: line {first_line(empty)} has no group in column {cfg.cv.group_col!r} "
                "(cv.group_col); every row needs one"
            )
        if groups.nunique() < n_folds:
            raise DataError(
                f"cannot make {n_folds} folds from {groups.nunique()} groups of {cfg.cv.group_col!r}: lower cv.n_folds"
            )
    if splitter == "multilabel" and problem.kind != "multilabel":
        raise ConfigError(
            f"config key 'cv.splitter': multilabel stratifies 0/1 label columns, not a {problem.kind} target"
        )
    return strata, groups


def make_folds(train: pd.DataFrame, cfg: Config, problem: Problem) -> np.ndarray:
    """The fold index of every row of `train`; a split that cannot be made is refused, saying why."""
    # Imported here: prediction reads the folds module, and Kaggle's notebook image has no iterstrat.
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    n_folds, seed = cfg.cv.n_folds, cfg.cv.split_seed(cfg.seed)
    strata, groups = split_inputs(train, cfg, problem)
    split = {
        "kfold": lambda: KFold(n_folds, shuffle=True, random_state=seed).split(train),
        "stratified": lambda: StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(train, strata),
        "group": lambda: GroupKFold(n_folds, shuffle=True, random_state=seed).split(train, groups=groups),
        "stratified_group": lambda: StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed).split(
            train, strata, groups
        ),
        "multilabel": lambda: MultilabelStratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            train, problem.encode(train)
        ),
    }[cfg.cv.splitter]
    folds = np.full(len(train), -1)
    for fold, (_, valid_index) in enumerate(split()):
        folds[valid_index] = fold
    return folds


def folds_path(cfg: Config) -> Path:
    by = f"-by-{cfg.cv.group_col}" if cfg.cv.by_group else ""
    folder = Path(cfg.cv.folds_dir or cfg.data.dir)
    return folder / f"folds-{cfg.cv.splitter}{by}-{cfg.cv.n_folds}-seed{cfg.cv.split_seed(cfg.seed)}.csv"


def check_groups(train: pd.DataFrame, group_col: str) -> None:
    """Refuse a split where one group sits in two folds: its rows would leak into validation."""
    spread = train.groupby(group_col)["fold"].nunique()
    if (spread > 1).any():
        raise DataError(f"group {spread.idxmax()!r} of {group_col!r} is in {spread.max()} folds: the split leaks")


def assign_folds(train: pd.DataFrame, cfg: Config, problem: Problem) -> pd.DataFrame:
    """`train` with a `fold` column: read from the folds file, or made (and written later by save_folds)."""
    path, id_col = folds_path(cfg), cfg.data.id_col
    if path.exists():
        saved = read_folds(path, id_col)
        if len(saved) != len(train) or set(saved[id_col]) != set(train[id_col]):
            raise DataError(
                f"{path} does not list the same {id_col!r} values as {cfg.data.train_csv}: the training "
                "data changed since the folds were made; delete the folds file to make new ones"
            )
    else:
        saved = pd.DataFrame({id_col: train[id_col], "fold": make_folds(train, cfg, problem)})
    train = train.merge(saved, on=id_col, how="left", validate="one_to_one")
    if cfg.cv.group_col and cfg.cv.by_group:
        check_groups(train, cfg.cv.group_col)
    return train


def read_folds(path: Path, id_col: str) -> pd.DataFrame:
    """The folds file: ids as text, exactly as train.csv has them; fold numbers from 0."""
    table = read_csv(path)
    folds = pd.to_numeric(table.get("fold"), errors="coerce") if "fold" in table else None
    if id_col not in table or folds is None or folds.isna().any():
        raise DataError(f"{path} is not a folds file of columns {id_col!r} and 'fold': delete it to make new ones")
    return table.assign(fold=folds.astype(int))[[id_col, "fold"]]


def save_folds(cfg: Config, train: pd.DataFrame) -> None:
    """Write the folds file if it is not there yet: every later experiment then shares this split."""
    path = folds_path(cfg)
    if path.exists():
        return
    try:
        write_csv(train[[cfg.data.id_col, "fold"]], path)
    except OSError as error:
        raise ConfigError(
            f"cannot write the folds file {path} ({error.strerror}): set cv.folds_dir to a "
            "writable folder, as in a Kaggle kernel whose data is read-only"
        ) from None


def check_folds_can_train(cfg: Config, problem: Problem, train_rows: pd.DataFrame) -> None:
    """Refuse, before anything is written, a fold with no full training batch, one whose validation rows the
    metric cannot score (ROC AUC with one class), and QWK on grades that have no order."""
    if cfg.metric == "qwk" and problem.kind == "multiclass":
        words = [label for label in problem.classes if natural(label)[0]]
        if words:  # QWK weighs errors by the distance between grades: text labels have no such order
            raise ConfigError(
                f"config key 'metric': qwk needs grades that are numbers, and {problem.target_cols[0]!r} holds "
                f"{words[0]!r}; map the grades to 0, 1, 2, ... in train.csv, or use another metric"
            )
    drops_last = get_task(cfg).drops_last_batch
    for fold in range(cfg.cv.n_folds):  # every fold: a CV needs them all, whichever is trained first
        valid = train_rows[train_rows.fold == fold]
        n_train = len(train_rows) - len(valid)
        if drops_last and cfg.data.batch_size > n_train:
            raise ConfigError(
                f"config key 'data.batch_size': {cfg.data.batch_size} is more than the {n_train} training rows of "
                f"fold {fold}, so no full batch is left to train on; use at most {n_train}"
            )
        reason = undefined_on(cfg.metric, problem, problem.encode(valid))
        if reason:
            raise DataError(
                f"config key 'metric': {cfg.metric} is undefined on fold {fold}: {reason} among its {len(valid)} "
                "validation rows; use a stratified splitter (cv.splitter), fewer folds, or another metric"
            )


def load_competition(cfg: Config, folds: bool = True) -> Competition:
    """The competition's tables, checked, with each training row's fold; `folds=False` (prediction) reads no
    training input, so it neither splits nor checks one. Nothing is written: save_folds writes the split once
    every check has passed."""
    task = get_task(cfg)
    competition = read_competition(cfg, task)
    if not folds:
        return replace(competition, test=check_inputs(cfg, task, competition.test, "test"))
    # Folds first: leaving bad rows out (data.skip_bad_rows) keeps the split every experiment shares.
    train = assign_folds(competition.train, cfg, competition.problem)
    return replace(
        competition,
        train=check_inputs(cfg, task, train, "train"),
        test=check_inputs(cfg, task, competition.test, "test"),
        folds=train[[cfg.data.id_col, "fold"]],
    )
