"""Blends and stacks of experiments (blend.py), scored honestly, and written like an experiment.

    hill   greedy hill climbing (Caruana's ensemble selection, with replacement): from the best member, add
           the member that most improves the metric, while one does; the weights are how often each was added
    mean   the plain mean of the members' predictions
    rank   the mean of their ranks, scaled to 0..1 (for roc_auc, which only reads the order)
    stack  a level-2 model on the members' predictions: logistic or ridge regression, or gradient boosting

A blend whose weights are fitted on every OOF row is scored on rows it was fitted on: that in-sample score is
optimistic, more so with many members, few rows or a noisy metric. The honest CV fits the weights (or the
level-2 model) on the other folds' OOF rows and scores each fold's rows with them, on the members' own folds;
its oof.csv holds those out-of-sample predictions. The test predictions use the weights fitted on every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import layout
from .atomic import write_csv, write_json
from .config import save_config
from .errors import UserError
from .floor import make_estimator, predictions
from .members import Members
from .oof import oof_table
from .submission import submission_table, write_submission, write_test_predictions

METHODS = ("hill", "mean", "rank", "stack")
HILL_ROUNDS = 100  # at most this many additions: enough for weights in steps of 1%


def hill_climb(members: Members, preds: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Weights, non-negative and summing to 1, chosen greedily on `rows` for the members' metric."""
    sign, score = members.metric.sign, lambda p: members.score(p[rows], rows)
    counts = np.zeros(len(preds))
    best = int(np.argmax([sign * score(p) for p in preds]))
    counts[best], blend, current = 1, preds[best], score(preds[best])
    for _ in range(HILL_ROUNDS):
        n = counts.sum()
        candidates = [(blend * n + p) / (n + 1) for p in preds]
        scores = [score(candidate) for candidate in candidates]
        pick = int(np.argmax([sign * s for s in scores]))
        if sign * scores[pick] <= sign * current:  # no member improves the blend: stop
            break
        counts[pick] += 1
        blend, current = candidates[pick], scores[pick]
    return counts / counts.sum()


def ranks(preds: np.ndarray) -> np.ndarray:
    """Each column's ranks, scaled to 0..1 (ties share their mean rank)."""
    from scipy.stats import rankdata

    return (rankdata(preds, axis=0) - 1) / max(len(preds) - 1, 1)


class Blender:
    """One method's fit on some OOF rows, and its predictions for any rows, of the OOF or of the test set."""

    def __init__(self, members: Members, method: str, model: str = "linear"):
        self.members, self.method, self.model = members, method, model
        self.oof = [member.oof for member in members.items]
        if method == "rank":
            self.oof = [ranks(p) for p in self.oof]
        self.weights = np.full(len(self.oof), 1 / len(self.oof))
        self.estimator = None

    def fit(self, rows: np.ndarray) -> Blender:
        if self.method == "hill":
            self.weights = hill_climb(self.members, self.oof, rows)
        elif self.method == "stack":
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            problem = self.members.competition.problem
            targets = self.members.targets[rows]
            targets = targets.ravel().astype(int) if problem.kind == "binary" else targets
            estimator = make_estimator(problem, self.model, self.members.cfg.seed)
            self.estimator = make_pipeline(StandardScaler(), estimator).fit(self.features(self.oof)[rows], targets)
        return self

    def features(self, preds: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(preds, axis=1)

    def predict(self, preds: list[np.ndarray], rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The blend of `preds` (one array per member, laid out as self.oof) on `rows`."""
        if self.estimator is not None:
            return predictions(self.estimator, self.members.competition.problem, self.features(preds)[rows])
        return sum(w * p[rows] for w, p in zip(self.weights, preds, strict=True))

    def test_inputs(self) -> list[np.ndarray]:
        tests = [member.test for member in self.members.items]
        return [ranks(p) for p in tests] if self.method == "rank" else tests


def honest_oof(members: Members, make: Callable[[], Blender]) -> np.ndarray:
    """Each fold's rows blended by a Blender fitted on the other folds' rows only."""
    folds, oof = members.folds, np.zeros_like(members.items[0].oof)
    for fold in np.unique(folds):
        valid = folds == fold
        blender = make().fit(~valid)
        oof[valid] = blender.predict(blender.oof, valid)
    return oof


def describe(members: Members, blender: Blender) -> str:
    names = [member.name for member in members.items]
    if blender.method == "stack":
        return f"stack: {blender.model} model on the predictions of {', '.join(names)}"
    words = {"hill": "hill climbing", "mean": "mean", "rank": "rank mean"}[blender.method]
    return f"{words}: " + ", ".join(f"{name} {w:.2f}" for name, w in zip(names, blender.weights, strict=True) if w)


def blend(members: Members, method: str, name: str, model: str = "linear") -> dict:
    """Fit `method` on the members, score it honestly, and write outputs/<name>/ like an experiment (oof.csv,
    cv.json, test_preds.csv, submission.csv, config.yaml); return cv.json's contents."""
    if method == "rank" and members.cfg.metric != "roc_auc":
        raise UserError(
            f"--method rank blends ranks, not probabilities or values: it suits roc_auc, not {members.cfg.metric}"
        )
    cfg, competition = replace(members.cfg, experiment=name), members.competition
    names = [member.name for member in members.items]
    folds, make = members.folds, lambda: Blender(members, method, model)
    oof = honest_oof(members, make)
    full = make().fit(np.ones(len(folds), dtype=bool))
    metric = members.metric
    summary = {
        "metric": cfg.metric,
        "higher_is_better": metric.higher_is_better,
        "folds": [members.score(oof[folds == k], folds == k) for k in np.unique(folds)],
        "cv": members.score(oof),
        "n_rows": len(oof),
        "blend": {
            "method": method if method != "stack" else f"stack ({model})",
            "description": describe(members, full),
            "members": {member.name: member.cv["cv"] for member in members.items},
            "weights": None if method == "stack" else dict(zip(names, full.weights.tolist(), strict=True)),
            "cv_in_sample": members.score(full.predict(full.oof)),
        },
    }
    summary["mean"], summary["std"] = float(np.mean(summary["folds"])), float(np.std(summary["folds"]))
    test = full.predict(full.test_inputs())
    folder = cfg.experiment_dir
    save_config(cfg, folder / layout.CONFIG)
    write_csv(oof_table(cfg, competition.problem, competition.train.assign(fold=folds), oof), layout.oof(folder))
    write_test_predictions(cfg, competition, test, folder / layout.TEST_PREDS)
    write_submission(cfg, competition, submission_table(cfg, competition, test), folder / layout.SUBMISSION)
    write_json(summary, folder / layout.CV)  # last: it marks the blend as finished
    print_blend(members, summary, folder)
    return summary


def print_blend(members: Members, summary: dict, folder: Path) -> None:
    info, sign = summary["blend"], members.metric.sign
    weights = info["weights"] or {}
    lines = [f"{'member':<32}  {members.cfg.metric:>10}  {'weight':>7}"]
    lines += [
        f"{name:<32}  {cv:>10.4f}  {weights[name]:>7.2f}" if name in weights else f"{name:<32}  {cv:>10.4f}"
        for name, cv in info["members"].items()
    ]
    best_name, best_cv = max(info["members"].items(), key=lambda item: sign * item[1])
    margin = sign * (summary["cv"] - best_cv)
    lines += [
        f"{'CV (honest)':<32}  {summary['cv']:>10.4f}  folds {summary['mean']:.4f} +- {summary['std']:.4f}; "
        f"{margin:+.4f} {'above' if margin > 0 else 'NOT above'} its best member {best_name}",
        f"{'CV in sample (optimistic)':<32}  {info['cv_in_sample']:>10.4f}  the weights fitted on every row, "
        "scored on them",
    ]
    print(f"\nBlend {folder.name!r} ({info['description']}) -> {folder}/\n" + "\n".join(lines))
