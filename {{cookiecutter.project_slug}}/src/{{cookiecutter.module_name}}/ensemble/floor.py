"""The scikit-learn floor: a fast classical model fitted on the experiment's own folds and written like an
experiment (oof.csv, cv.json, submission.csv under outputs/<experiment>_floor/).

Every competitor's first step, and a check on the pipeline: a deep model whose CV is below the floor's is a
bug until shown otherwise. The task gives the inputs and the features (downscaled pixels; TF-IDF of the
texts); this module fits the same estimator on each fold's training rows and predicts its validation rows
and the test set, which the folds' mean predicts as a deep experiment's folds do.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..config import Config, changes_from_shipped, save_config
from ..config.metrics import get_metric
from ..cv.artefacts import write_cv_json
from ..cv.oof import oof_table
from ..cv.split import check_folds_can_train, load_competition, save_folds
from ..data.competition import Competition
from ..data.problem import Problem
from ..run import layout
from ..run.io import write_csv
from ..run.provenance import write_provenance
from ..submission.table import submission_table, write_submission, write_test_predictions
from ..tasks import get_task

MODELS = ("linear", "boosting")


def make_estimator(problem: Problem, model: str, seed: int):
    """Logistic or ridge regression, or histogram gradient boosting, for the problem's kind."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor

    if problem.kind == "regression":
        if model == "linear":
            return Ridge(alpha=1.0)
        return MultiOutputRegressor(HistGradientBoostingRegressor(early_stopping=True, random_state=seed))
    if model == "linear":
        classifier = LogisticRegression(C=1.0, max_iter=2000)
    else:  # stops on a tenth of the training rows held out; its own split, never the fold's validation rows
        classifier = HistGradientBoostingClassifier(early_stopping=True, random_state=seed)
    return MultiOutputClassifier(classifier) if problem.kind == "multilabel" else classifier


def predictions(estimator, problem: Problem, inputs) -> np.ndarray:
    """[rows, outputs] laid out as the deep models' (problem.pred_columns): probabilities, or values. A class
    that a fold's training rows lack gets probability 0."""
    if problem.kind == "regression":
        return np.asarray(estimator.predict(inputs), dtype=float).reshape(len(inputs), -1)
    if problem.kind == "multilabel":  # one [rows, classes] table per label: the chance of 1
        labels = [fitted.classes_ for fitted in estimator[-1].estimators_]
        tables = zip(estimator.predict_proba(inputs), labels, strict=True)
        return np.stack([probs[:, -1] * (classes[-1] == 1) for probs, classes in tables], axis=1)
    probs = np.zeros((len(inputs), len(problem.classes)))
    probs[:, estimator.classes_] = estimator.predict_proba(inputs)
    return probs[:, 1:] if problem.kind == "binary" else probs


def fit_floor(cfg: Config, model: str | None = None) -> dict:
    """Fit the floor on every fold of `cfg`'s competition; write its OOF, cv.json and submission.csv under
    outputs/<experiment>_floor/ and return cv.json's contents."""
    task, started = get_task(cfg), time.perf_counter()
    model = model or task.floor_model
    cfg = replace(cfg, experiment=layout.floor(cfg.experiment))
    competition = load_competition(cfg)
    check_folds_can_train(cfg, competition.problem, competition.train)
    save_folds(cfg, competition.folds)
    oof, test, scores = fit_folds(cfg, competition, model)
    problem, metric = competition.problem, get_metric(cfg.metric)
    summary = {
        "metric": cfg.metric,
        "higher_is_better": metric.higher_is_better,
        "folds": scores,
        "cv": float(metric(problem.encode(competition.train), oof, problem.kind)),
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "n_rows": len(competition.train),
        "floor": f"{model}: {task.floor_description(cfg, model)}",
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_floor(cfg, competition, oof, test, summary)
    print(
        f"\nFloor {cfg.experiment!r} ({summary['floor']}): CV {cfg.metric} = {summary['cv']:.4f} "
        f"(folds {summary['mean']:.4f} +- {summary['std']:.4f}) in {summary['seconds']:.0f} s -> {cfg.experiment_dir}/"
    )
    return summary


def fit_folds(cfg: Config, competition: Competition, model: str) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """The floor fitted on each fold's training rows: the OOF predictions of every training row, the folds' mean
    prediction of the test rows, and each fold's score."""
    from sklearn.pipeline import make_pipeline

    task, problem, train_rows = get_task(cfg), competition.problem, competition.train
    inputs, test_inputs = task.floor_inputs(cfg, train_rows, "train"), task.floor_inputs(cfg, competition.test, "test")
    targets = problem.encode(train_rows)
    if problem.kind == "binary":
        targets = targets.ravel().astype(int)
    metric, folds = get_metric(cfg.metric), train_rows.fold.to_numpy()
    oof = np.zeros((len(train_rows), problem.num_outputs))
    test = np.zeros((len(competition.test), problem.num_outputs))
    scores = []
    for fold in range(cfg.cv.n_folds):
        fit, valid = folds != fold, folds == fold
        estimator = make_pipeline(*task.floor_steps(cfg, model), make_estimator(problem, model, cfg.seed))
        estimator.fit(take(inputs, fit), targets[fit])
        oof[valid] = predictions(estimator, problem, take(inputs, valid))
        test += predictions(estimator, problem, test_inputs) / cfg.cv.n_folds
        scores.append(float(metric(problem.encode(train_rows[valid]), oof[valid], problem.kind)))
        print(f"floor fold {fold}: {cfg.metric} = {scores[-1]:.4f}")
    return oof, test, scores


def write_floor(cfg: Config, competition: Competition, oof: np.ndarray, test: np.ndarray, summary: dict) -> None:
    """The floor's folder, laid out as an experiment's; cv.json last, as it marks the floor as finished."""
    folder, problem = cfg.experiment_dir, competition.problem
    save_config(cfg, folder / layout.CONFIG)
    write_provenance(folder / layout.PROVENANCE, changes_from_shipped(cfg))
    write_csv(oof_table(cfg, problem, competition.train, oof), layout.oof(folder))
    submission = submission_table(cfg, competition, test)
    write_submission(cfg, competition, submission, folder / layout.SUBMISSION)
    write_test_predictions(cfg, competition, test, folder / layout.TEST_PREDS)
    write_cv_json(summary, folder)


def take(inputs, rows: np.ndarray):
    """The rows of an array, or of a list of texts, where the boolean mask `rows` is true."""
    return (
        inputs[rows]
        if isinstance(inputs, np.ndarray)
        else [item for item, keep in zip(inputs, rows, strict=True) if keep]
    )
