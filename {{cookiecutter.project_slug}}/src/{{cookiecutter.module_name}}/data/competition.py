"""The competition's tables, read and checked once, before any training: train (with folds), test, sample
submission. A table, column, image or text that cannot serve the config is refused here, naming it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Config
from ..demo import ensure_demo
from ..errors import DataError
from ..folds import assign_folds
from ..problem import Problem, first_line
from ..tasks import get_task
from .tables import read_csv


@dataclass
class Competition:
    train: pd.DataFrame  # with a `fold` column, unless loaded without folds
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    problem: Problem
    folds: pd.DataFrame | None = None  # id and fold of every training row, bad ones too: what save_folds writes


def read_table(cfg: Config, key: str, columns: list[str]) -> pd.DataFrame:
    """The CSV named by config key data.<key>, with the `columns` it needs and a unique, non-empty id column."""
    root, id_col = Path(cfg.data.dir), cfg.data.id_col
    path = root / getattr(cfg.data, key)
    if not root.is_dir():
        raise DataError(f"config key 'data.dir': {root} is not a folder")
    if not path.is_file():
        raise DataError(f"config key 'data.{key}': {path} does not exist (its folder: {', '.join(ls(root))})")
    table = read_csv(path)
    if table.empty:
        raise DataError(f"{path} has no rows")
    missing = [c for c in dict.fromkeys(columns) if c not in table.columns]
    if missing:
        hint = "; is it separated by ';' or tabs? Kaggle's CSVs use ','" if len(table.columns) == 1 else ""
        raise DataError(
            f"{path} has no column {', '.join(map(repr, missing))} (its columns: "
            f"{', '.join(map(repr, table.columns[:20]))}){hint}; set the column names in the data section of the config"
        )
    empty = table[id_col].str.strip() == ""
    if empty.any():
        raise DataError(f"{path}: line {first_line(empty)} has an empty id (column {id_col!r})")
    duplicated = table[id_col].duplicated()
    if duplicated.any():
        raise DataError(f"{path}: id column {id_col!r} is not unique ({table[id_col][duplicated].iloc[0]!r} repeats)")
    return table


def ls(folder: Path, limit: int = 8) -> list[str]:
    names = sorted(p.name for p in folder.iterdir())
    return names[:limit] + ["..."] * (len(names) > limit) or ["empty"]


def check_inputs(cfg: Config, rows: pd.DataFrame, split: str) -> pd.DataFrame:
    """`rows` whose inputs can be read. A bad row is refused, or with data.skip_bad_rows: a training row is
    left out and a test row kept, to be predicted from a blank input (a submission needs every row)."""
    skip, id_col = cfg.data.skip_bad_rows, cfg.data.id_col
    reasons = get_task(cfg).bad_inputs(cfg, rows, split, decode=skip)
    if reasons.empty:
        return rows
    table = getattr(cfg.data, "test_csv" if split == "test" else "train_csv")
    first = f"first: row {id_col} {rows.loc[reasons.index[0], id_col]!r}, {reasons.iloc[0]}"
    if not skip:
        raise DataError(
            f"{len(reasons)} of {len(rows)} rows of {table} have no usable input ({first}): fix the data or "
            "its path in the config, or set data.skip_bad_rows: true to leave them out"
        )
    if split == "test":
        print(
            f"data.skip_bad_rows: {len(reasons)} of {len(rows)} rows of {table} are predicted from a blank "
            f"input ({first})"
        )
        return rows
    print(f"data.skip_bad_rows: left out {len(reasons)} of {len(rows)} rows of {table} ({first})")
    return rows.drop(index=reasons.index).reset_index(drop=True)


def submission_columns(cfg: Config, problem: Problem) -> list[str]:
    """The columns submission.csv gets: the id, then the labels or values, or one probability per class."""
    if problem.kind == "multiclass" and cfg.submission == "probability":
        return [cfg.data.id_col, *map(str, problem.classes)]
    return [cfg.data.id_col, *problem.target_cols]


def check_like_train(cfg: Config, problem: Problem, test: pd.DataFrame, sample: pd.DataFrame) -> None:
    """Refuse a sample submission this config cannot fill, and labels in test or the sample that train never has."""
    d = cfg.data
    expected = submission_columns(cfg, problem)
    if list(sample.columns) != expected:
        raise DataError(
            f"{d.sample_submission} has columns {list(sample.columns)}, but this config writes {expected} "
            f"(data.target_cols {list(problem.target_cols)}, submission: {cfg.submission}): set them to match"
        )
    labels = problem.classes if problem.kind != "multilabel" else ("0", "1")
    tables = [(d.test_csv, test)]
    if problem.is_classification and cfg.submission == "label":
        tables.append((d.sample_submission, sample))
    for name, table in tables:
        for col in [c for c in problem.target_cols if c in table.columns]:
            values = table[col][table[col] != ""]  # a test.csv may carry the target column empty
            if problem.is_classification and not values.isin(labels).all():
                unknown = values[~values.isin(labels)].iloc[0]
                raise DataError(
                    f"{name} column {col!r} holds {unknown!r}, a label {d.train_csv} never has "
                    f"(its labels: {', '.join(map(repr, labels[:20]))})"
                )
            numbers = pd.to_numeric(values, errors="coerce")
            if not problem.is_classification and numbers.isna().any():
                raise DataError(
                    f"{name} column {col!r} holds {values[numbers.isna()].iloc[0]!r}, but {d.train_csv}'s targets "
                    "are numbers"
                )
    unknown = set(sample[d.id_col]) - set(test[d.id_col])
    if unknown:
        raise DataError(
            f"{len(unknown)} ids of {d.sample_submission} are not in {d.test_csv}, e.g. {min(unknown)!r}: "
            "the two files must list the same rows"
        )


def load_competition(cfg: Config, folds: bool = True) -> Competition:
    """The tables of data.dir, checked; `folds=False` (prediction) does not need the folds. Nothing is written."""
    d = cfg.data
    ensure_demo(d.dir)
    texts = get_task(cfg).input_columns(cfg)
    groups = [cfg.cv.group_col] if cfg.cv.by_group else []
    train = read_table(cfg, "train_csv", [d.id_col, *d.target_cols, *texts, *groups])
    test = read_table(cfg, "test_csv", [d.id_col, *texts])
    sample = read_table(cfg, "sample_submission", [d.id_col])
    problem = Problem.from_train(cfg.problem, d.target_cols, train, Path(d.dir) / d.train_csv)
    check_like_train(cfg, problem, test, sample)
    if folds:  # predict.py reads no training input, so it checks none
        # Folds first: leaving bad rows out (data.skip_bad_rows) keeps the split every experiment shares.
        # They are computed here and written by save_folds, once every check has passed.
        train = assign_folds(train, cfg, problem)
        folds_table = train[[d.id_col, "fold"]]
        train = check_inputs(cfg, train, "train")
    test = check_inputs(cfg, test, "test")
    return Competition(train, test, sample, problem, folds_table if folds else None)
