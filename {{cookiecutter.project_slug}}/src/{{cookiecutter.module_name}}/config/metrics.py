"""Competition metrics by name, each knowing whether higher is better and which problems it scores.

A metric takes the targets and predictions as `problem.Problem` lays them out (targets [n] class
indices or [n, outputs]; predictions [n, outputs] probabilities or values) and the problem kind. The
same function scores each validation epoch, each fold's OOF and the merged OOF, so all three agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# scikit-learn is imported by each metric when it scores, not here: the config reads this table's names.
CLASSIFICATION = frozenset({"multiclass", "binary", "multilabel"})


def _hard(y_pred: np.ndarray, kind: str) -> np.ndarray:
    """Class indices (multiclass) or 0/1 decisions at 0.5 (binary: [n], multilabel: [n, labels])."""
    if kind == "multiclass":
        return y_pred.argmax(axis=1)
    decisions = (y_pred > 0.5).astype(int)
    return decisions.ravel() if kind == "binary" else decisions


def _truth(y_true: np.ndarray, kind: str) -> np.ndarray:
    return y_true.ravel().astype(int) if kind == "binary" else y_true


def _accuracy(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    return skm.accuracy_score(_truth(y, kind), _hard(p, kind))


def _f1_macro(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    return skm.f1_score(_truth(y, kind), _hard(p, kind), average="macro", zero_division=0)


def _rmse(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    return skm.root_mean_squared_error(y, p)


def _mae(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    return skm.mean_absolute_error(y, p)


def _roc_auc(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    if kind == "multiclass":
        return skm.roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1]))
    return skm.roc_auc_score(_truth(y, kind), p.ravel() if kind == "binary" else p)


def _log_loss(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    if kind == "multiclass":
        return skm.log_loss(y, p, labels=np.arange(p.shape[1]))
    # binary: one column; multilabel: the mean of each label's binary log loss
    return float(np.mean([skm.log_loss(y[:, j], p[:, j], labels=[0, 1]) for j in range(p.shape[1])]))


def _qwk(y: np.ndarray, p: np.ndarray, kind: str) -> float:
    from sklearn import metrics as skm

    if kind == "regression":  # ordinal targets predicted as values: round to the nearest grade
        y, p = np.rint(y.ravel()).astype(int), np.clip(np.rint(p.ravel()), y.min(), y.max()).astype(int)
        return skm.cohen_kappa_score(y, p, weights="quadratic")
    return skm.cohen_kappa_score(y, p.argmax(axis=1), weights="quadratic")


@dataclass(frozen=True)
class Metric:
    fn: Callable[[np.ndarray, np.ndarray, str], float]
    higher_is_better: bool
    problems: frozenset[str]
    perfect: float  # the best score there is: a fold that reaches it has nothing left to learn

    # Logged scores are float32, whose steps near 1 are about 6e-8: a finer tolerance would round away.
    PERFECT_TOLERANCE = 1e-6

    def is_perfect(self, score: float) -> bool:
        return abs(score - self.perfect) < self.PERFECT_TOLERANCE

    @property
    def sign(self) -> int:
        """1 where higher is better, else -1: `sign * score` is higher when the score is better."""
        return 1 if self.higher_is_better else -1

    @property
    def perfect_threshold(self) -> float:
        """EarlyStopping's `stopping_threshold` that stops at a perfect score (it asks for strictly better)."""
        return self.perfect - self.sign * self.PERFECT_TOLERANCE

    @property
    def mode(self) -> str:
        """The `mode` of Lightning's ModelCheckpoint and EarlyStopping."""
        return "max" if self.higher_is_better else "min"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray, kind: str) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(y_pred, dtype=np.float64), kind))


METRICS: dict[str, Metric] = {
    "accuracy": Metric(_accuracy, True, CLASSIFICATION, 1.0),
    "f1_macro": Metric(_f1_macro, True, CLASSIFICATION, 1.0),
    "roc_auc": Metric(_roc_auc, True, CLASSIFICATION, 1.0),
    "log_loss": Metric(_log_loss, False, CLASSIFICATION, 0.0),
    "qwk": Metric(_qwk, True, frozenset({"multiclass", "regression"}), 1.0),
    "rmse": Metric(_rmse, False, frozenset({"regression"}), 0.0),
    "mae": Metric(_mae, False, frozenset({"regression"}), 0.0),
}


def get_metric(name: str) -> Metric:
    return METRICS[name]


def undefined_on(name: str, problem, targets: np.ndarray) -> str | None:
    """Why metric `name` cannot score rows with these encoded targets, or None. ROC AUC needs both classes
    of every column it scores (every class, one against the rest, for multiclass)."""
    if name != "roc_auc" or not len(targets):
        return None if len(targets) else "no rows"
    if problem.kind == "multiclass":
        absent = [c for i, c in enumerate(problem.classes) if not (targets == i).any()]
        return f"class {absent[0]!r} of {problem.target_cols[0]!r} has no row" if absent else None
    for column, values in zip(problem.target_cols, np.asarray(targets).T, strict=True):
        if len(np.unique(values)) < 2:
            return f"column {column!r} has only {'positive' if values[0] == 1 else 'negative'} rows"
    return None
