"""A fold's results and the experiment's CV: its predictions (FoldPredictions), its OOF files, and once every
fold is finished, their merge into oof.csv and cv.json, and the table printed at the end of a run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config
from ..config.metrics import get_metric
from ..data.competition import Competition
from ..data.problem import Problem
from ..data.tables import read_csv
from ..run import layout
from ..run.errors import DataError
from ..run.io import write_csv
from ..tasks import get_task
from ..training.loggers import log_cv
from .artefacts import write_cv_json
from .state import FoldResult, check_same_config

# The other predictions a fold may score beside its chosen weights (with TTA when on), and their column titles.
VARIANTS = {"no_tta": "no TTA", "best": "best ckpt"}


@dataclass
class FoldPredictions:
    """A fold's validation predictions: from the chosen weights (with TTA when on), the same without TTA
    when TTA is on, and from the best single checkpoint when the chosen weights are an average."""

    chosen: np.ndarray
    no_tta: np.ndarray | None = None
    best: np.ndarray | None = None

    def items(self) -> list[tuple[str, np.ndarray]]:
        """(variant, predictions) of those present: "" for the chosen weights, then "no_tta" and "best"."""
        others = [(name, getattr(self, name)) for name in VARIANTS]
        return [("", self.chosen)] + [(name, preds) for name, preds in others if preds is not None]


def suffix(variant: str) -> str:
    """A variant's suffix in file names and cv.json keys: "", "_no_tta", "_best"."""
    return f"_{variant}" if variant else ""


def oof_table(cfg: Config, problem: Problem, rows: pd.DataFrame, preds: np.ndarray) -> pd.DataFrame:
    table = rows[[cfg.data.id_col, "fold", *cfg.data.target_cols]].reset_index(drop=True)
    return pd.concat([table, pd.DataFrame(preds, columns=problem.pred_columns)], axis=1)


def read_oof(path: Path, problem: Problem) -> pd.DataFrame:
    """An OOF file: ids and targets as text, exactly as train.csv has them; the predictions as numbers."""
    oof = read_csv(path)
    return oof.astype({column: float for column in problem.pred_columns}).astype({"fold": int})


def merged_oof(cfg: Config, competition: Competition, variant: str = "") -> tuple[pd.DataFrame, float]:
    """The folds' OOF files as one table in train.csv's row order, checked to hold each row once, and its score."""
    id_col, problem = cfg.data.id_col, competition.problem
    name = layout.oof(Path(), suffix(variant)).name
    oof = pd.concat([read_oof(layout.oof(cfg.fold_dir(k), suffix(variant)), problem) for k in range(cfg.cv.n_folds)])
    train_ids = competition.train[id_col]
    if len(oof) != len(train_ids) or not oof[id_col].is_unique or set(oof[id_col]) != set(train_ids):
        raise DataError(
            f"the folds' {name} files hold {len(oof)} rows for {len(train_ids)} training rows: "
            "retrain the experiment with --fold all --force"
        )
    oof = oof.set_index(id_col).loc[train_ids].reset_index()
    score = get_metric(cfg.metric)(problem.encode(oof), oof[problem.pred_columns].to_numpy(), problem.kind)
    return oof, score


def cv_summary(metric_name: str, kind: str, targets: np.ndarray, preds: np.ndarray, folds: np.ndarray) -> dict:
    """cv.json's scores of OOF predictions made outside the folds' own runs (a seeds' mean, a blend): each
    fold's score, the CV on every row, and their mean and spread."""
    metric = get_metric(metric_name)
    scores = [metric(targets[folds == k], preds[folds == k], kind) for k in np.unique(folds)]
    return {
        "metric": metric_name,
        "higher_is_better": metric.higher_is_better,
        "folds": scores,
        "cv": metric(targets, preds, kind),
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "n_rows": len(preds),
    }


def merge_oof(cfg: Config, competition: Competition) -> dict | None:
    """Once every fold is finished: write oof.csv (one row per training row) and cv.json; return cv.json."""
    n_folds = cfg.cv.n_folds
    results = [FoldResult.read(cfg.fold_dir(fold) / layout.METRICS) for fold in range(n_folds)]
    missing = [fold for fold, result in enumerate(results) if result is None]
    if missing:
        print(f"CV: fold {', '.join(map(str, missing))} not finished; oof.csv and cv.json need all {n_folds} folds")
        return None
    for fold in range(n_folds):
        check_same_config(cfg, fold)
    scores = [result.score for result in results]
    oof, cv = merged_oof(cfg, competition)
    summary = {
        "metric": cfg.metric,
        "higher_is_better": get_metric(cfg.metric).higher_is_better,
        "folds": scores,
        "cv": cv,
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "n_rows": len(oof),
        # Training rows whose input did not read, left out with data.skip_bad_rows: the OOF and the CV lack them.
        "left_out_rows": 0 if competition.folds is None else len(competition.folds) - len(competition.train),
        "tta": cfg.tta.views,
        "weights": results[0].weights,
    }
    # The scores above come from the chosen weights, with TTA when on; these from the same weights without
    # TTA, and from the best single checkpoint when the chosen weights are an average.
    for variant in VARIANTS:
        if results[0].variant(variant) is not None:
            summary[f"folds_{variant}"] = [result.variant(variant) for result in results]
            summary[f"cv_{variant}"] = merged_oof(cfg, competition, variant)[1]
    write_cv(cfg, competition, oof, summary)
    return summary


def write_cv(cfg: Config, competition: Competition, oof: pd.DataFrame, summary: dict) -> None:
    """oof.csv, the OOF's plots, the W&B cv run, and last cv.json (`summary`)."""
    write_csv(oof, layout.oof(cfg.experiment_dir))
    from .plots import save_oof_plots

    plots = save_oof_plots(competition.problem, oof, summary, cfg.experiment_dir)
    log_cv(cfg, summary, plots, worst_rows(cfg, competition, oof))
    # Last: cv.json marks the merge as complete, so a run killed before it merges again next time.
    write_cv_json(summary, cfg.experiment_dir)


WORST_ROWS = 32


def worst_rows(cfg: Config, competition: Competition, oof: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    """The OOF's worst-predicted rows, worst first, each with its input (an image or a text), for error
    analysis in the W&B cv run; made only when W&B logs (the inputs are read then)."""

    def table() -> pd.DataFrame:
        problem = competition.problem
        errors = problem.row_errors(oof, oof[problem.pred_columns].to_numpy())
        order = np.argsort(-errors, kind="stable")[:WORST_ROWS]
        worst = oof.iloc[order].reset_index(drop=True).assign(error=errors[order])
        rows = competition.train.set_index(cfg.data.id_col, drop=False).loc[worst[cfg.data.id_col]]
        return worst.assign(input=get_task(cfg).examples(cfg, rows))

    return table


def print_table(cfg: Config, summary: dict, margin: bool = True) -> None:
    variants = [v for v in VARIANTS if f"cv_{v}" in summary]
    header = f"{'fold':>6}  {cfg.metric:>10}" + "".join(f"  {VARIANTS[v]:>12}" for v in variants)
    lines = [header] + [
        f"{fold:>6}  {score:>10.4f}" + "".join(f"  {summary[f'folds_{v}'][fold]:>12.4f}" for v in variants)
        for fold, score in enumerate(summary["folds"])
    ]
    lines += [
        f"{'mean':>6}  {summary['mean']:>10.4f}  (std {summary['std']:.4f})",
        f"{'CV':>6}  {summary['cv']:>10.4f}" + "".join(f"  {summary[f'cv_{v}']:>12.4f}" for v in variants),
        f"weights: {summary['weights']}" + (f"; TTA views: {', '.join(summary['tta'])}" if cfg.tta.on else ""),
    ]
    print(f"\nExperiment {cfg.experiment!r} ({cfg.experiment_dir / layout.CV}):\n" + "\n".join(lines))
    if margin:
        print_margin(cfg, summary)


def print_margin(cfg: Config, summary: dict) -> None:
    """The CV's margin over the experiment's scikit-learn floor (baseline.py), where it was fitted."""
    name = layout.floor(cfg.experiment)
    path = layout.experiment_dir(cfg.output_dir, name) / layout.CV
    if name == cfg.experiment or not path.exists():
        print(f"scikit-learn floor: not fitted yet; python baseline.py writes outputs/{name}/ in seconds")
        return
    floor = json.loads(path.read_text())
    if floor.get("metric") != cfg.metric:
        return
    margin = (summary["cv"] - floor["cv"]) * (1 if summary["higher_is_better"] else -1)
    verdict = "above it" if margin > 0 else "NOT above it: a bug until shown otherwise"
    print(f"scikit-learn floor {name!r}: CV {floor['cv']:.4f}; this experiment is {margin:+.4f} {verdict}")
