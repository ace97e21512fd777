"""The experiments a blend combines (blend.py): each one's OOF and test predictions, read from its folder and
checked against the first member's competition, so that they predict the same rows, on the same folds, for
the same targets and metric. Members that differ in any of these cannot be combined honestly, and are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import layout
from .config import Config, load_config
from .data.competition import Competition, load_competition
from .data.tables import read_csv
from .errors import UserError
from .metrics import Metric, get_metric
from .oof import read_oof


@dataclass
class Member:
    name: str
    cv: dict  # its cv.json
    oof: np.ndarray  # [training rows, outputs], in train.csv's order
    folds: np.ndarray  # each training row's fold, in train.csv's order
    test: np.ndarray  # [test rows, outputs], in test.csv's order


@dataclass
class Members:
    """The members, and what they share: the first member's config and competition, the encoded targets and
    each training row's fold."""

    cfg: Config
    competition: Competition
    items: list[Member]

    @property
    def metric(self) -> Metric:
        return get_metric(self.cfg.metric)

    @property
    def folds(self) -> np.ndarray:
        return self.items[0].folds

    @cached_property  # encoded once: hill climbing scores thousands of candidate blends
    def targets(self) -> np.ndarray:
        return self.competition.problem.encode(self.competition.train)

    def score(self, preds: np.ndarray, rows: np.ndarray | slice = slice(None)) -> float:
        """The metric of predictions laid out as the OOF's, against the targets of `rows` (all by default)."""
        return self.metric(self.targets[rows], preds, self.competition.problem.kind)


def finished(output_dir: str | Path) -> list[str]:
    """The experiments under output_dir that a blend can take: finished (cv.json) and predicted (test_preds.csv),
    other than blends, whose members they would count twice."""
    names = []
    for cv_json in sorted(Path(output_dir).glob(f"*/{layout.CV}")):
        if (cv_json.parent / layout.TEST_PREDS).exists() and "blend" not in json.loads(cv_json.read_text()):
            names.append(cv_json.parent.name)
    return names


def load_members(output_dir: str | Path, names: list[str]) -> Members:
    """Read and check every member; the first one's config names the competition the others must match."""
    if len(set(names)) != len(names) or len(names) < 2:
        raise UserError(f"a blend takes two or more different experiments, not {names}")
    folders = [layout.experiment_dir(output_dir, name) for name in names]
    for folder in folders:
        for name, hint in ((layout.CV, "python train.py --fold all"), (layout.TEST_PREDS, "python predict.py")):
            if not (folder / name).exists():
                raise UserError(f"{folder}: no {name}; run {hint} --experiment {folder.name} first")
    cfg = load_config(folders[0] / layout.CONFIG)
    competition = load_competition(cfg, folds=False)
    members = Members(cfg, competition, [read_member(cfg, competition, folder) for folder in folders])
    for member in members.items[1:]:
        check_same_folds(members, member)
    return members


def read_member(cfg: Config, competition: Competition, folder: Path) -> Member:
    """One member's cv.json, oof.csv and test_preds.csv, each checked against `cfg`'s competition."""
    problem, id_col = competition.problem, cfg.data.id_col
    cv = json.loads((folder / layout.CV).read_text())
    if cv.get("metric") != cfg.metric:
        raise UserError(
            f"{folder / layout.CV} scores {cv.get('metric')}, the blend's first member {cfg.metric}: "
            "members must share the metric"
        )
    oof_path, test_path = layout.oof(folder), folder / layout.TEST_PREDS
    oof = aligned(oof_path, read_predictions(oof_path, problem), id_col, competition.train[id_col], "train.csv")
    for column in problem.target_cols:
        differ = oof[column].to_numpy() != competition.train[column].to_numpy()
        if differ.any():
            row = int(np.argmax(differ))
            raise UserError(
                f"{oof_path}: row {oof[id_col].iloc[row]!r} has {column} {oof[column].iloc[row]!r} where "
                f"train.csv has {competition.train[column].iloc[row]!r}: members must predict the same targets"
            )
    if test_path.stat().st_mtime < oof_path.stat().st_mtime:
        raise UserError(
            f"{test_path} is older than its oof.csv: the experiment was trained again since it predicted; "
            f"run python predict.py --experiment {folder.name}"
        )
    test = aligned(test_path, read_predictions(test_path, problem), id_col, competition.test[id_col], "test.csv")
    columns = problem.pred_columns
    return Member(folder.name, cv, oof[columns].to_numpy(), oof.fold.to_numpy(), test[columns].to_numpy())


def read_predictions(path: Path, problem) -> pd.DataFrame:
    """oof.csv or test_preds.csv, refused when it lacks a prediction column of the blend's problem."""
    table = read_csv(path)
    missing = [column for column in problem.pred_columns if column not in table.columns]
    if missing:
        raise UserError(f"{path} has no column {missing[0]!r}: members must predict the same targets and classes")
    if path.name == layout.TEST_PREDS:
        return table.astype({column: float for column in problem.pred_columns})
    return read_oof(path, problem)


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


def check_same_folds(members: Members, member: Member) -> None:
    """Refuse a member whose rows sit in other folds than the first member's: its OOF predictions came from
    models that trained on rows the blend's CV validates on."""
    first = members.items[0]
    differ = first.folds != member.folds
    if differ.any():
        row = int(np.argmax(differ))
        raise UserError(
            f"{member.name} puts row {members.competition.train[members.cfg.data.id_col].iloc[row]!r} in fold "
            f"{member.folds[row]}, {first.name} in fold {first.folds[row]}: members made on different folds cannot "
            "be blended honestly (train them with the same cv section and seed)"
        )
