"""Blends and stacks of experiments (blend.py), scored honestly, and written like an experiment.

    hill   greedy hill climbing (Caruana's ensemble selection, with replacement): from the best member, add
           the member that most improves the metric, while one does; the weights are how often each was added
    mean   the plain mean of the members' predictions
    rank   the mean of their ranks, scaled to 0..1: for roc_auc, which only reads the order (binary, multilabel)
    stack  a level-2 model on the members' predictions: logistic or ridge regression, or gradient boosting

A blend whose weights are fitted on every OOF row is scored on rows it was fitted on: that in-sample score is
optimistic, more so with many members, few rows or a noisy metric. The honest CV fits the weights (or the
level-2 model) on the other folds' OOF rows and scores each fold's rows with them, on the members' own folds;
its oof.csv holds those out-of-sample predictions. The test predictions use the weights fitted on every row.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import save_config
from ..cv.artefacts import write_cv_json
from ..cv.oof import cv_summary, oof_table
from ..run import layout
from ..run.errors import UserError
from ..run.io import write_csv
from ..submission.table import submission_table, write_submission, write_test_predictions
from .floor import make_estimator, predictions
from .members import Members

METHODS = ("hill", "mean", "rank", "stack")
HILL_ROUNDS = 100  # at most this many additions: weights in steps of 1% at the finest


def hill_climb(members: Members, inputs: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Weights, non-negative and summing to 1, chosen greedily on `rows` for the members' metric."""
    sign, targets = members.metric.sign, members.targets[rows]
    preds = [p[rows] for p in inputs]

    def gain(candidate: np.ndarray) -> float:  # higher is better, whichever the metric's direction
        return sign * members.score(candidate, targets)

    counts = np.zeros(len(preds))
    first = int(np.argmax([gain(p) for p in preds]))
    counts[first], mix, best = 1, preds[first], gain(preds[first])
    for _ in range(HILL_ROUNDS):
        n = counts.sum()
        candidates = [(mix * n + p) / (n + 1) for p in preds]
        gains = [gain(candidate) for candidate in candidates]
        pick = int(np.argmax(gains))
        if gains[pick] <= best:  # no member improves the mix: stop
            break
        counts[pick] += 1
        mix, best = candidates[pick], gains[pick]
    return counts / counts.sum()


def ranks(preds: np.ndarray) -> np.ndarray:
    """Each column's ranks, scaled to 0..1 (ties share their mean rank)."""
    from scipy.stats import rankdata

    return (rankdata(preds, axis=0) - 1) / max(len(preds) - 1, 1)


class Blender:
    """One method fitted on some OOF rows, and its predictions for any rows, of the OOF or of the test set.
    Its inputs are the members' predictions (their ranks, for the rank mean)."""

    def __init__(self, members: Members, method: str, model: str = "linear"):
        self.members, self.method, self.model = members, method, model
        self.inputs = self.prepared([member.oof for member in members.items])
        self.test_inputs = self.prepared([member.test for member in members.items])
        self.weights = np.full(len(self.inputs), 1 / len(self.inputs))
        self.stacker = None

    def prepared(self, preds: list[np.ndarray]) -> list[np.ndarray]:
        return [ranks(p) for p in preds] if self.method == "rank" else preds

    def fit(self, rows: np.ndarray) -> Blender:
        if self.method == "hill":
            self.weights = hill_climb(self.members, self.inputs, rows)
        elif self.method == "stack":
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            problem, targets = self.members.competition.problem, self.members.targets[rows]
            targets = targets.ravel().astype(int) if problem.kind == "binary" else targets
            level2 = make_pipeline(StandardScaler(), make_estimator(problem, self.model, self.members.cfg.seed))
            self.stacker = level2.fit(np.concatenate(self.inputs, axis=1)[rows], targets)
        return self

    def predict(self, inputs: list[np.ndarray], rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The blend on `rows` of `inputs` (self.inputs or self.test_inputs)."""
        if self.stacker is not None:
            features = np.concatenate(inputs, axis=1)[rows]
            return predictions(self.stacker, self.members.competition.problem, features)
        return sum(w * p[rows] for w, p in zip(self.weights, inputs, strict=True))


def default_name(method: str, model: str | None, members: list[str]) -> str:
    """<method>[_<model>]_<member>_and_<member>..., or a digest of the members' names past 100 characters."""
    method = f"{method}_{model}" if model else method
    name = f"{method}_{'_and_'.join(members)}"
    if len(name) <= 100:  # the longest experiment name
        return name
    return f"{method}_of_{len(members)}_experiments_{hashlib.sha256(' '.join(members).encode()).hexdigest()[:8]}"


def check_method(members: Members, method: str) -> None:
    cfg, kind, writes = members.cfg, members.competition.problem.kind, members.competition.layout.kind
    if method == "rank" and (cfg.metric != "roc_auc" or kind == "multiclass" or writes != "probability"):
        raise UserError(
            f"--method rank blends ranks, not probabilities: it suits roc_auc on binary or multilabel targets "
            f"submitted as probabilities, not {cfg.metric} on a {kind} target submitted as {writes}s"
        )


def honest_oof(members: Members, method: str, model: str) -> np.ndarray:
    """Each fold's rows blended by a Blender fitted on the other folds' rows only."""
    folds, oof = members.folds, np.zeros_like(members.items[0].oof)
    for fold in np.unique(folds):
        valid = folds == fold
        blender = Blender(members, method, model).fit(~valid)
        oof[valid] = blender.predict(blender.inputs, valid)
    return oof


def describe(members: Members, blender: Blender) -> str:
    names = [member.name for member in members.items]
    if blender.method == "stack":
        return f"stack: {blender.model} model on the predictions of {', '.join(names)}"
    words = {"hill": "hill climbing", "mean": "mean", "rank": "rank mean"}[blender.method]
    return f"{words}: " + ", ".join(f"{name} {w:.2f}" for name, w in zip(names, blender.weights, strict=True))


def summarize(members: Members, oof: np.ndarray, full: Blender) -> dict:
    """cv.json of a blend: the honest CV and its folds, the members' CVs, the weights, the in-sample CV."""
    names, kind = [member.name for member in members.items], members.competition.problem.kind
    return {
        **cv_summary(members.cfg.metric, kind, members.targets, oof, members.folds),
        "blend": {
            "method": full.method if full.method != "stack" else f"stack ({full.model})",
            "description": describe(members, full),
            "members": {member.name: member.cv for member in members.items},
            "weights": None if full.method == "stack" else dict(zip(names, full.weights.tolist(), strict=True)),
            "cv_in_sample": members.score(full.predict(full.inputs)),
        },
    }


def blend(members: Members, method: str, name: str, output_dir: str | Path, model: str = "linear") -> dict:
    """Fit `method` on the members, score it honestly, and write output_dir/<name>/ like an experiment
    (submission.csv, config.yaml, oof.csv, test_preds.csv, cv.json); return cv.json's contents."""
    check_method(members, method)
    oof = honest_oof(members, method, model)
    full = Blender(members, method, model).fit(np.ones(len(oof), dtype=bool))
    summary = summarize(members, oof, full)
    test = full.predict(full.test_inputs)
    cfg, competition = replace(members.cfg, experiment=name, output_dir=str(output_dir)), members.competition
    folder = cfg.experiment_dir
    # The submission first: it is checked as it is written, and a refused one leaves nothing else behind.
    write_submission(cfg, competition, submission_table(cfg, competition, test), folder / layout.SUBMISSION)
    save_config(cfg, folder / layout.CONFIG)
    write_csv(
        oof_table(cfg, competition.problem, competition.train.assign(fold=members.folds), oof), layout.oof(folder)
    )
    write_test_predictions(cfg, competition, test, folder / layout.TEST_PREDS)
    write_cv_json(summary, folder)  # last: it marks the blend as finished
    print_blend(members, summary, folder)
    return summary


def print_blend(members: Members, summary: dict, folder: Path) -> None:
    info, sign = summary["blend"], members.metric.sign
    weights = info["weights"] or {}
    lines = [f"{'member':<32}  {members.cfg.metric:>10}" + ("  weight" if weights else "")]
    lines += [
        f"{name:<32}  {cv:>10.4f}" + (f"  {weights[name]:>6.2f}" if weights else "")
        for name, cv in info["members"].items()
    ]
    best_name, best_cv = max(info["members"].items(), key=lambda item: sign * item[1])
    margin = sign * (summary["cv"] - best_cv)
    lines += [
        f"{'CV (honest)':<32}  {summary['cv']:>10.4f}  folds {summary['mean']:.4f} +- {summary['std']:.4f}; "
        f"{margin:+.4f} {'above' if margin > 0 else 'equal to' if margin == 0 else 'NOT above'} its best member "
        f"{best_name}",
        f"{'CV in sample (optimistic)':<32}  {info['cv_in_sample']:>10.4f}  fitted on every row, scored on them",
    ]
    print(f"\nBlend {folder.name!r} ({info['description']}) -> {folder}/\n" + "\n".join(lines))
