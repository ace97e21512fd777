"""The experiments a blend combines (blend.py): each one's OOF and test predictions, read from its folder and
checked against the first member's competition, so that they predict the same rows, on the same folds, for
the same targets and metric. Members that differ in any of these cannot be combined honestly, and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..config import Config, load_config
from ..config.experiment import NAME_RULE, name_problem
from ..config.metrics import Metric, get_metric
from ..cv.artefacts import (
    aligned,
    check_same_setup,
    is_blend,
    oof_fingerprint,
    read_cv,
    read_fingerprint,
    read_predictions,
)
from ..cv.split import load_competition
from ..data.competition import Competition
from ..run import layout
from ..run.errors import UserError


@dataclass
class Member:
    name: str
    cv: float  # its CV, from its cv.json
    oof: np.ndarray  # [training rows, outputs], in train.csv's order
    folds: np.ndarray  # each training row's fold, in train.csv's order
    test: np.ndarray  # [test rows, outputs], in test.csv's order


@dataclass
class Members:
    """The members, and what they share: the first member's config and competition, each training row's fold
    and the encoded targets."""

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

    def score(self, preds: np.ndarray, targets: np.ndarray | None = None) -> float:
        """The metric of predictions laid out as the OOF's, against `targets` (by default every row's)."""
        return self.metric(self.targets if targets is None else targets, preds, self.competition.problem.kind)


def finished(output_dir: str | Path) -> list[str]:
    """The experiments under output_dir that a blend can take: finished (cv.json) and predicted (test_preds.csv),
    other than blends, whose members they would count twice."""
    folders = sorted(path.parent for path in Path(output_dir).glob(f"*/{layout.CV}"))
    return [folder.name for folder in folders if (folder / layout.TEST_PREDS).exists() and not is_blend(folder)]


def check_blend_name(output_dir: str | Path, name: str, members: list[str]) -> None:
    """Refuse a blend's name that is no experiment name, or whose folder holds a member or an experiment: a
    blend is written over an earlier blend of the same name only."""
    problem = name_problem(name)
    if problem:
        raise UserError(f"blend name {name!r} is no name of {NAME_RULE} ({problem}): give --name")
    folder = layout.experiment_dir(output_dir, name)
    trained = ((folder / layout.CV).exists() and not is_blend(folder)) or any(folder.glob("fold*"))
    if name in members or trained:
        raise UserError(f"{folder} holds an experiment that is not a blend: give the blend another --name")


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
    check_same_setup(cfg, folder)
    cv = float(read_cv(folder)["cv"])  # first: it refuses an oof.csv cut short or edited since its merge
    problem, id_col = competition.problem, cfg.data.id_col
    oof_path, test_path = layout.oof(folder), folder / layout.TEST_PREDS
    oof = aligned(oof_path, read_predictions(oof_path, problem, ["fold", *problem.target_cols]), id_col,
                  competition.train[id_col], "train.csv")  # fmt: skip
    for column in problem.target_cols:
        differ = oof[column].to_numpy() != competition.train[column].to_numpy()
        if differ.any():
            row = int(np.argmax(differ))
            raise UserError(
                f"{oof_path}: row {oof[id_col].iloc[row]!r} has {column} {oof[column].iloc[row]!r} where "
                f"train.csv has {competition.train[column].iloc[row]!r}: members must predict the same targets"
            )
    if read_fingerprint(test_path) != oof_fingerprint(oof_path):
        raise UserError(
            f"{test_path} was not predicted from the models behind {oof_path} (trained again since, or predicted "
            f"before every fold was): run python predict.py --experiment {folder.name}"
        )
    test = aligned(test_path, read_predictions(test_path, problem), id_col, competition.test[id_col], "test.csv")
    columns = problem.pred_columns
    folds = oof.fold.to_numpy()
    return Member(folder.name, cv, oof[columns].to_numpy(), folds, test[columns].to_numpy())


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
