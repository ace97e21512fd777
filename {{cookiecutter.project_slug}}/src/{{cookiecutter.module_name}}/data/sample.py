"""What sample_submission.csv asks for, read from it: the labels (or values) of the target columns, a probability
per target column (binary, multilabel), or one probability column per class, named as the classes (Otto's
`id,Class_1,...,Class_9`) or with a common prefix (`id,class_1,...`). Its columns may come in any order: the
submission takes the sample's. config key `submission` (auto) may also say it outright: label or probability."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config
from ..run.errors import DataError
from .problem import Problem

PROBABILITY_METRICS = ("roc_auc", "log_loss")  # scored on probabilities: a binary sample of 0s asks for them


@dataclass(frozen=True)
class SampleLayout:
    kind: str  # label (or a regression's values), or probability
    columns: tuple[str, ...]  # the sample's value columns, in its order
    sources: tuple[int, ...]  # the prediction (or label) column each one takes
    per_class: bool = False  # one probability column per class (sources index the classes)

    def values(self, problem: Problem, preds: np.ndarray) -> np.ndarray:
        """The submission's values from fold- and TTA-averaged predictions [n, outputs], in the sample's columns."""
        if self.kind == "label" and problem.is_classification:
            return problem.labels(preds)[:, self.sources]
        if self.per_class and problem.kind == "binary":
            preds = np.concatenate([1 - preds, preds], axis=1)  # both classes' probabilities
        return preds[:, self.sources]


def read_layout(cfg: Config, problem: Problem, sample: pd.DataFrame) -> SampleLayout:
    """The layout the sample asks for, or the refusal naming what it holds and what this config can write."""
    columns = tuple(c for c in sample.columns if c != cfg.data.id_col)
    by_class = class_columns(columns, problem)
    if by_class is not None:
        if cfg.submission == "label":
            raise DataError(
                f"{cfg.data.sample_submission} has one probability column per class ({', '.join(columns[:4])}, ...), "
                "but config key 'submission' is label: set it to auto or probability"
            )
        return SampleLayout("probability", columns, by_class, per_class=True)
    if sorted(columns) != sorted(problem.target_cols):
        classes = f" or one per class ({', '.join(map(str, problem.classes[:4]))}, ...)" if problem.classes else ""
        raise DataError(
            f"{cfg.data.sample_submission} has columns {list(sample.columns)}, but this config writes "
            f"{cfg.data.id_col!r} and its target columns {list(problem.target_cols)}{classes}: set data.target_cols "
            "(and data.id_col) to the sample's"
        )
    sources = tuple(problem.target_cols.index(c) for c in columns)
    kind = cfg.submission
    if kind == "auto":
        asks = cfg.metric in PROBABILITY_METRICS or holds_fractions(sample[list(columns)])
        kind = "probability" if asks and problem.kind in ("binary", "multilabel") else "label"
    if kind == "probability" and problem.kind == "multiclass":
        raise DataError(
            f"config key 'submission': probability for a multiclass target takes one column per class, and "
            f"{cfg.data.sample_submission} has {list(columns)}: set submission to auto or label"
        )
    return SampleLayout(kind, columns, sources)


def class_columns(columns: tuple[str, ...], problem: Problem) -> tuple[int, ...] | None:
    """The class each column names, where every class has its column: as the class, or after a prefix the
    columns share (class_1 for the class 1). None where the columns are not one per class."""
    if problem.kind not in ("multiclass", "binary") or len(columns) != len(problem.classes):
        return None
    classes = [str(c) for c in problem.classes]
    prefix = os.path.commonprefix(list(columns))  # noqa: RUF071 (of names, character by character, not paths)
    for cut in range(len(prefix), -1, -1):
        names = [column[cut:] for column in columns]
        if sorted(names) == sorted(classes):
            return tuple(classes.index(name) for name in names)
    return None


def holds_fractions(values: pd.DataFrame) -> bool:
    """Numbers other than whole ones (0.5): the sample asks for probabilities."""
    numbers = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    finite = numbers[np.isfinite(numbers)]
    return finite.size > 0 and bool((finite != np.round(finite)).any())
