"""Competition metrics by name, each knowing whether higher is better.

A metric takes the true targets (class indices, or values for regression) and the predictions
(class probabilities of shape [n, classes], or values) and returns a float. The same function scores
each validation epoch, each fold's OOF and the merged OOF, so the three always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class Metric:
    fn: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool

    @property
    def mode(self) -> str:
        """The `mode` of Lightning's ModelCheckpoint and EarlyStopping."""
        return "max" if self.higher_is_better else "min"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(y_pred)))


def _labels(probs: np.ndarray) -> np.ndarray:
    return probs.argmax(axis=1)


def _classes(probs: np.ndarray) -> np.ndarray:
    return np.arange(probs.shape[1])


METRICS: dict[str, Metric] = {
    "accuracy": Metric(lambda y, p: skm.accuracy_score(y, _labels(p)), higher_is_better=True),
    "f1_macro": Metric(lambda y, p: skm.f1_score(y, _labels(p), average="macro"), higher_is_better=True),
    "qwk": Metric(lambda y, p: skm.cohen_kappa_score(y, _labels(p), weights="quadratic"), higher_is_better=True),
    "roc_auc": Metric(
        lambda y, p: skm.roc_auc_score(y, p, multi_class="ovr", labels=_classes(p)), higher_is_better=True
    ),
    "log_loss": Metric(lambda y, p: skm.log_loss(y, p, labels=_classes(p)), higher_is_better=False),
}


def get_metric(name: str) -> Metric:
    return METRICS[name]
