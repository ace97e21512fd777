"""Problem types: how targets are encoded, which activation fits, and which columns predictions get (the loss
of each is training/loss.py's).

    multiclass  one column of class labels      softmax over the classes    OOF: prob_<class> per class
    binary      one column with two values      sigmoid of one output       OOF: prob_<positive class>
    multilabel  several 0/1 columns             sigmoid per column          OOF: pred_<column> per column
    regression  one or more numeric columns     the raw outputs             OOF: pred_<column> per column

Everything downstream (the loss, the metrics, the OOF, the submission) works on the arrays this defines: targets of
shape [n] (class index, multiclass) or [n, outputs], and predictions of shape [n, outputs].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..run.errors import ConfigError, DataError


def natural(label: str) -> tuple:
    """Labels in natural order: numbers by value (2 before 10, so ordinal metrics such as QWK see grades
    in order), then the others as text."""
    try:
        number = float(label)
    except ValueError:
        return (1, 0.0, label)
    return (0, number, label) if np.isfinite(number) else (1, 0.0, label)


def first_line(where: pd.Series) -> int:
    """The file line of the first row where `where` holds (the header is line 1)."""
    return int(np.asarray(where).argmax()) + 2


@dataclass(frozen=True)
class Problem:
    kind: str
    target_cols: tuple[str, ...]
    classes: tuple = ()  # multiclass and binary: the target's values, sorted; index = class id

    @classmethod
    def from_train(cls, kind: str, target_cols: list[str], train: pd.DataFrame, where: Path) -> Problem:
        """Checks the target columns of `train` (read as text from `where`) against the problem type.

        Class labels stay the strings the file holds; numeric targets are parsed here, and a cell that is
        empty, not a number or not finite is refused with its line."""
        cols = tuple(target_cols)
        for col in cols:
            empty = train[col].str.strip() == ""
            if empty.any():
                raise DataError(
                    f"{where}: line {first_line(empty)} has no target in column {col!r}; every training row "
                    "needs one (drop such rows, or fill them)"
                )
        if kind in ("multiclass", "binary"):
            if len(cols) != 1:
                raise ConfigError(
                    f"config key 'data.target_cols': a {kind} problem has one target column, not {list(cols)}"
                )
            classes = tuple(sorted(train[cols[0]].unique().tolist(), key=natural))
            if kind == "binary" and len(classes) != 2:
                raise DataError(
                    f"{where}: binary target {cols[0]!r} has {len(classes)} values {list(classes)[:5]}, not two; "
                    "set problem: multiclass, or check data.target_cols"
                )
            if kind == "multiclass" and len(classes) < 2:
                raise DataError(
                    f"{where}: target {cols[0]!r} has a single class {list(classes)}: nothing to learn; "
                    "check data.target_cols"
                )
            return cls(kind, cols, classes)
        check_numbers(kind, cols, train, where)
        return cls(kind, cols)

    @property
    def num_outputs(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else 1 if self.kind == "binary" else len(self.target_cols)

    @property
    def is_classification(self) -> bool:
        return self.kind != "regression"

    @property
    def pred_columns(self) -> list[str]:
        if self.kind == "multiclass":
            return [f"prob_{c}" for c in self.classes]
        if self.kind == "binary":
            return [f"prob_{self.classes[1]}"]
        return [f"pred_{c}" for c in self.target_cols]

    def encode(self, rows: pd.DataFrame) -> np.ndarray:
        """The training targets of `rows`: class indices [n] (multiclass) or floats [n, outputs]."""
        if self.classes:
            index = pd.Index(self.classes, dtype=object).get_indexer(rows[self.target_cols[0]].astype(str))
            if (index < 0).any():
                unknown = rows[self.target_cols[0]][index < 0].iloc[0]
                raise DataError(f"target value {unknown!r} is not one of the training classes {list(self.classes)}")
            return index if self.kind == "multiclass" else index[:, None].astype(np.float32)
        # A copy: pandas may hand out a read-only view, which torch cannot wrap safely.
        return rows[list(self.target_cols)].astype(float).to_numpy(dtype=np.float32, copy=True)

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        """Network outputs to predictions: probabilities, or values for regression."""
        outputs = outputs.float()
        if self.kind == "multiclass":
            return outputs.softmax(dim=1)
        return outputs.sigmoid() if self.is_classification else outputs

    def row_errors(self, rows: pd.DataFrame, preds: np.ndarray) -> np.ndarray:
        """How wrong each row's prediction is, for finding the worst: one minus the true class's probability,
        or the mean absolute difference from the targets (binary, multilabel, regression)."""
        targets = self.encode(rows)
        if self.kind == "multiclass":
            return 1 - preds[np.arange(len(preds)), targets]
        return np.abs(preds - targets).mean(axis=1)

    def labels(self, preds: np.ndarray) -> np.ndarray:
        """Hard predictions in the competition's terms: class labels, 0/1 per label, or the values."""
        if self.kind == "multiclass":
            return np.asarray(self.classes, dtype=object)[preds.argmax(axis=1)][:, None]
        if self.kind == "binary":
            return np.asarray(self.classes, dtype=object)[(preds[:, 0] > 0.5).astype(int)][:, None]
        return (preds > 0.5).astype(int) if self.kind == "multilabel" else preds


def check_numbers(kind: str, cols: tuple[str, ...], train: pd.DataFrame, where: Path) -> None:
    """Refuse a regression or multilabel target that is not a finite number (multilabel: 0 or 1), with its line."""
    for col in cols:
        values = pd.to_numeric(train[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise DataError(
                f"{where}: line {first_line(pd.Series(bad))} of {kind} target {col!r} holds "
                f"{train[col][bad].iloc[0]!r}, not a finite number"
            )
        if kind == "multilabel" and not values.isin([0, 1]).all():
            raise DataError(
                f"{where}: line {first_line(~values.isin([0, 1]))} of multilabel target {col!r} holds "
                f"{train[col][~values.isin([0, 1])].iloc[0]!r}; each label column holds 0 or 1"
            )
