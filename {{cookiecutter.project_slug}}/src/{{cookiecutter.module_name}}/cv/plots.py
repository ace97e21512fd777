"""Pictures of a CV run's out-of-fold predictions, saved as PNG beside cv.json (and logged to W&B).

confusion_matrix.png (classification), roc_pr.png (binary), regression.png (predicted against true, and the
residuals), fold_scores.png (every problem). matplotlib's object API draws them: no pyplot, no display.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

from ..data.problem import Problem
from ..run.io import write_atomic


def fold_scores(result: dict) -> Figure:
    figure = Figure(figsize=(6, 4))
    ax = figure.subplots()
    folds = np.arange(len(result["folds"]))
    ax.bar(folds, result["folds"], color="tab:blue")
    ax.axhline(result["cv"], color="tab:red")
    title = f"{result['metric']} per fold; the line: CV {result['cv']:.4f}"
    ax.set(xticks=folds, xlabel="fold", ylabel=result["metric"], title=title)
    low, high = min(*result["folds"], result["cv"]), max(*result["folds"], result["cv"])
    margin = (high - low) * 0.5 or abs(high) * 0.05 or 0.05
    ax.set_ylim(low - margin, high + margin)
    return figure


def confusion_matrix(problem: Problem, targets: np.ndarray, preds: np.ndarray) -> Figure:
    """Rows the true class, columns the predicted one; counts, each row's share as the colour."""
    if problem.kind == "multilabel":  # one 2x2 matrix per label column
        columns = problem.target_cols
        figure = Figure(figsize=(3.2 * len(columns), 3.2))
        for k, (ax, name) in enumerate(zip(np.atleast_1d(figure.subplots(1, len(columns))), columns, strict=True)):
            ConfusionMatrixDisplay.from_predictions(targets[:, k], preds[:, k] > 0.5, ax=ax, colorbar=False)
            ax.set_title(name)
        return figure
    true, predicted = (targets, preds.argmax(1)) if problem.kind == "multiclass" else (targets[:, 0], preds[:, 0] > 0.5)
    size = min(4 + 0.5 * len(problem.classes), 14)
    figure = Figure(figsize=(size, size))
    ax = figure.subplots()
    labels = [str(c) for c in problem.classes]
    ConfusionMatrixDisplay.from_predictions(
        true.astype(int), predicted.astype(int), labels=range(len(labels)), display_labels=labels, ax=ax, colorbar=False
    )
    ax.set_title("out-of-fold confusion matrix")
    return figure


def roc_pr(problem: Problem, targets: np.ndarray, preds: np.ndarray) -> Figure:
    figure = Figure(figsize=(10, 4.5))
    roc, pr = figure.subplots(1, 2)
    positive = str(problem.classes[1])
    RocCurveDisplay.from_predictions(targets[:, 0], preds[:, 0], ax=roc, name=f"OOF, {positive} positive")
    PrecisionRecallDisplay.from_predictions(targets[:, 0], preds[:, 0], ax=pr, name=f"OOF, {positive} positive")
    roc.set_title("ROC")
    pr.set_title("precision-recall")
    return figure


def regression(problem: Problem, targets: np.ndarray, preds: np.ndarray) -> Figure:
    columns = problem.target_cols
    figure = Figure(figsize=(10, 4.5 * len(columns)))
    for k, (axes, name) in enumerate(zip(np.atleast_2d(figure.subplots(len(columns), 2)), columns, strict=True)):
        true, predicted = targets[:, k], preds[:, k]
        scatter, residuals = axes
        scatter.scatter(true, predicted, s=6, alpha=0.5)
        low, high = min(true.min(), predicted.min()), max(true.max(), predicted.max())
        scatter.plot([low, high], [low, high], color="tab:red", linewidth=1)
        scatter.set(xlabel=f"true {name}", ylabel="predicted", title="predicted against true")
        residuals.scatter(predicted, predicted - true, s=6, alpha=0.5)
        residuals.axhline(0, color="tab:red", linewidth=1)
        residuals.set(xlabel="predicted", ylabel="predicted - true", title="residuals")
    return figure


def oof_figures(problem: Problem, oof: pd.DataFrame, result: dict) -> dict[str, Figure]:
    """The figures that fit the problem, by file name."""
    targets, preds = problem.encode(oof), oof[problem.pred_columns].to_numpy()
    figures = {"fold_scores.png": fold_scores(result)}
    if problem.is_classification:
        figures["confusion_matrix.png"] = confusion_matrix(problem, targets, preds)
    if problem.kind == "binary":
        figures["roc_pr.png"] = roc_pr(problem, targets, preds)
    if problem.kind == "regression":
        figures["regression.png"] = regression(problem, targets, preds)
    return figures


def save_oof_plots(problem: Problem, oof: pd.DataFrame, result: dict, folder: Path) -> list[Path]:
    paths = []
    for name, figure in oof_figures(problem, oof, result).items():
        figure.tight_layout()
        write_atomic(folder / name, lambda tmp, figure=figure: figure.savefig(tmp, format="png", dpi=100))
        paths.append(folder / name)
    return paths
