"""Reading what a finished experiment wrote, checked: its cv.json, its OOF and test predictions, the config keys it
must share with another, and the fingerprint that ties its test predictions to the models behind its OOF.
Blends (ensemble/members.py) and pseudo-labels (pseudo.py) read experiments through here; each refusal is one line
naming the file, row or key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..config import Config
from ..data.problem import Problem, first_line
from ..data.tables import read_csv
from ..run import layout
from ..run.errors import UserError
from ..run.io import write_json

# What blend members must share, beside their rows and folds: the keys of their config.yaml.
SHARED_KEYS = (("problem",), ("metric",), ("data", "id_col"), ("data", "target_cols"))


def read_cv(folder: Path) -> dict:
    """A finished experiment's cv.json, refused unless it reads, holds its CV, and was merged from the oof.csv
    beside it as it is now (not one cut short, edited or replaced since)."""
    path = folder / layout.CV
    try:
        cv = json.loads(path.read_text())
        float(cv["cv"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(
            f"{path} does not read as an experiment's CV ({type(error).__name__}: {error}): {redo(folder)}"
        ) from None
    if "oof_sha256" not in cv:
        raise UserError(
            f"{path} was written by another version of this project (it records no oof_sha256, which ties it to its "
            f"oof.csv): {redo(folder)}"
        )
    if cv["oof_sha256"] != oof_fingerprint(layout.oof(folder)):
        raise UserError(
            f"{layout.oof(folder)} is not the file {path.name} was merged from (cut short, edited or replaced since): "
            f"{redo(folder)}"
        )
    return cv


def write_cv_json(summary: dict, folder: Path) -> None:
    """cv.json, the last file of an experiment's merge (or a blend's, a floor's): its scores, and the fingerprint
    of the oof.csv written just before (added to `summary`), by which readers know the two belong together."""
    summary["oof_sha256"] = oof_fingerprint(layout.oof(folder))
    write_json(summary, folder / layout.CV)


def redo(folder: Path) -> str:
    """The command that writes an experiment's oof.csv and cv.json anew, by what kind of experiment it is."""
    config = folder / layout.CONFIG
    if folder.name.endswith(layout.FLOOR):
        return f"fit the floor again: python baseline.py --config {config} --output_dir {folder.parent}"
    if (folder / layout.TEST_PREDS).exists() and not any(folder.glob("fold*")):
        return f"blend again: python blend.py <its members> --name {folder.name} --output_dir {folder.parent}"
    return f"merge its folds again: python train.py --config {config} --output_dir {folder.parent} --fold all"


def is_blend(folder: Path) -> bool:
    """A blend's folder (its cv.json says so); whether it is whole is read_cv's to check."""
    try:
        return "blend" in json.loads((folder / layout.CV).read_text())
    except (OSError, ValueError, TypeError):
        return False


def check_same_setup(
    cfg: Config,
    folder: Path,
    shared: tuple[tuple[str, ...], ...] = SHARED_KEYS,
    whose: str = "the blend's first member",
    must: str = "members must share it",
) -> None:
    """Refuse an experiment whose config.yaml differs from `cfg` (`whose` config) in a `shared` key: by default,
    a member with another problem, metric, id column or targets than the first's."""
    path = folder / layout.CONFIG
    try:
        saved = yaml.safe_load(path.read_text())
        theirs = [saved[keys[0]] if len(keys) == 1 else saved[keys[0]][keys[1]] for keys in shared]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise UserError(f"{path} does not read as an experiment's config ({type(error).__name__}: {error})") from None
    first = cfg.to_dict()
    for keys, value in zip(shared, theirs, strict=True):
        ours = first[keys[0]] if len(keys) == 1 else first[keys[0]][keys[1]]
        if value != ours:
            raise UserError(f"{path}: config key '{'.'.join(keys)}' is {value!r} where {whose} has {ours!r}: {must}")


def read_predictions(path: Path, problem: Problem, also: list[str] = ()) -> pd.DataFrame:
    """oof.csv or test_preds.csv with its prediction columns as numbers, refused when a column is missing or
    a prediction is empty, not a number or not finite."""
    table = read_csv(path)
    missing = [column for column in [*also, *problem.pred_columns] if column not in table.columns]
    if missing:
        raise UserError(f"{path} has no column {missing[0]!r}: members must predict the same targets and classes")
    for column in problem.pred_columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise UserError(
                f"{path}: line {first_line(pd.Series(bad))} of column {column!r} holds {table[column][bad].iloc[0]!r}, "
                "not a finite number"
            )
        table[column] = values
    if "fold" in also:
        folds = pd.to_numeric(table.fold, errors="coerce")
        bad = ~folds.isin(range(1000))
        if bad.any():
            raise UserError(
                f"{path}: line {first_line(bad)} of column 'fold' holds {table.fold[bad].iloc[0]!r}, not a fold"
            )
        table["fold"] = folds.astype(int)
    return table


def aligned(path: Path, table: pd.DataFrame, id_col: str, ids: pd.Series, source: str) -> pd.DataFrame:
    """`table`'s rows in the order of `ids`, refused unless it holds each of them exactly once."""
    if id_col not in table.columns:
        raise UserError(f"{path} has no id column {id_col!r}")
    extra, absent, twice = set(table[id_col]) - set(ids), set(ids) - set(table[id_col]), table[id_col].duplicated()
    if extra:
        raise UserError(
            f"{path} holds row {sorted(extra)[0]!r}, which {source} lacks: members must predict the same rows"
        )
    if absent:
        raise UserError(f"{path} has no row {sorted(absent)[0]!r} of {source}: members must predict the same rows")
    if twice.any():
        raise UserError(f"{path} holds row {table[id_col][twice].iloc[0]!r} twice: members must predict the same rows")
    return table.set_index(id_col).loc[ids].reset_index()


def oof_fingerprint(oof: Path) -> str | None:
    """The sha256 of an experiment's oof.csv; None before every fold is trained."""
    return hashlib.sha256(oof.read_bytes()).hexdigest() if oof.exists() else None


def merged_from_current_oof(folder: Path) -> bool:
    """The experiment's cv.json exists and records the fingerprint of the oof.csv beside it as it is now (not one cut
    short or edited since, nor a cv.json of another version)."""
    try:
        recorded = json.loads((folder / layout.CV).read_text()).get("oof_sha256")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded is not None and recorded == oof_fingerprint(layout.oof(folder))


def read_fingerprint(test_preds: Path) -> str | None:
    """The oof.csv fingerprint recorded beside test_preds.csv; None where none was."""
    try:
        return json.loads(test_preds.with_name(layout.TEST_PREDS_SOURCE).read_text())["oof_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
