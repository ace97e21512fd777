"""The competition's tables, read and checked once, before any training: train, test, sample submission. A table,
column, image or text that cannot serve the config is refused here, naming it. What the inputs are (image files,
text columns) is the task's to say (`Inputs`, which tasks.Task implements); which fold each training row
validates in is cv/split.py's, which reads the competition through here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from ..config import Config
from ..run.errors import DataError
from ..run.paths import not_a
from .demo import ensure_demo
from .problem import Problem, first_line
from .sample import SampleLayout, read_layout
from .tables import read_csv


class Inputs(Protocol):
    """What reading the competition asks of the task (tasks.Task implements it)."""

    def input_columns(self, cfg: Config) -> list[str]:
        """The columns of train.csv and test.csv its inputs are read from, beside the id."""

    def bad_inputs(self, cfg: Config, rows: pd.DataFrame, split: str, decode: bool) -> pd.Series:
        """Why each row whose input cannot be read is bad, indexed like `rows` (only the bad rows)."""


@dataclass
class Competition:
    train: pd.DataFrame  # with a `fold` column once cv/split.py has split it
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    problem: Problem
    layout: SampleLayout  # what submission.csv holds, as the sample asks
    folds: pd.DataFrame | None = None  # id and fold of every training row, bad ones too: what save_folds writes


def read_table(cfg: Config, key: str, columns: list[str]) -> pd.DataFrame:
    """The CSV named by config key data.<key>, with the `columns` it needs and a unique, non-empty id column."""
    root, id_col = Path(cfg.data.dir), cfg.data.id_col
    path = root / getattr(cfg.data, key)
    if (problem := not_a(root, "folder")) is not None:
        raise DataError(f"config key 'data.dir': {problem}")
    if (problem := not_a(path, "file")) is not None:
        raise DataError(f"config key 'data.{key}': {problem} (its folder: {', '.join(ls(root))})")
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


def check_inputs(cfg: Config, inputs: Inputs, rows: pd.DataFrame, split: str) -> pd.DataFrame:
    """`rows` whose inputs can be read. A bad row is refused, or with data.skip_bad_rows: a training row is
    left out and a test row kept, to be predicted from a blank input (a submission needs every row)."""
    skip, id_col = cfg.data.skip_bad_rows, cfg.data.id_col
    reasons = inputs.bad_inputs(cfg, rows, split, decode=skip)
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


def check_like_train(cfg: Config, problem: Problem, test: pd.DataFrame, sample: pd.DataFrame) -> SampleLayout:
    """The layout the sample submission asks for (sample.py); refuse one this config cannot fill, and labels in
    test or the sample that train never has."""
    d = cfg.data
    layout = read_layout(cfg, problem, sample)
    labels = problem.classes if problem.kind != "multilabel" else ("0", "1")
    tables = [(d.test_csv, test)]
    if problem.is_classification and layout.kind == "label":
        tables.append((d.sample_submission, sample))
    for name, table in tables:
        for col in [c for c in problem.target_cols if c in table.columns]:
            values = table[col][table[col] != ""]  # a test.csv may carry the target column empty
            if problem.is_classification and not values.isin(labels).all():
                unknown = values[~values.isin(labels)].iloc[0]
                raise DataError(
                    f"{name} column {col!r} holds {unknown!r}, a label {d.train_csv} never has "
                    f"(its labels: {', '.join(map(repr, labels[:20]))}; a sample of probabilities: submission: auto)"
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
    return layout


def read_competition(cfg: Config, inputs: Inputs) -> Competition:
    """The tables of data.dir, checked; their rows' inputs are not read yet (check_inputs: the training rows' once
    they have their folds, cv/split.py's load_competition). Nothing is written."""
    d = cfg.data
    ensure_demo(d.dir)
    columns = inputs.input_columns(cfg)
    groups = [cfg.cv.group_col] if cfg.cv.by_group else []
    train = read_table(cfg, "train_csv", [d.id_col, *d.target_cols, *columns, *groups])
    test = read_table(cfg, "test_csv", [d.id_col, *columns])
    sample = read_table(cfg, "sample_submission", [d.id_col])
    problem = Problem.from_train(cfg.problem, d.target_cols, train, Path(d.dir) / d.train_csv)
    layout = check_like_train(cfg, problem, test, sample)
    return Competition(train, test, sample, problem, layout)
