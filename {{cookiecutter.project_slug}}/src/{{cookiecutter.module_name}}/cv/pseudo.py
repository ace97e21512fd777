"""Pseudo-labels: `data.pseudo_labels: <experiment>` adds the test rows, soft-labelled by that experiment's test
predictions, to the training part of every fold.

Fold k's labels come from the source's fold-k models alone (predict.py keeps each fold's test predictions in
fold<k>/test_preds.csv; with seeds, the seeds' mean), which never trained on fold k's validation rows: no
label of a row the fold validates on reaches its training through them. The validation rows themselves are
never touched, so the CV stays honest. A source on other folds is refused (its fold-k models trained on some of
this fold k's validation rows), and so are blends and floors, which keep no per-fold predictions. The full-data
refit, which validates on nothing, takes the source's test_preds.csv.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..config import Config, ConfigError, load_config
from ..data.competition import Competition
from ..data.tables import read_csv
from ..run import layout
from ..run.errors import UserError
from ..tasks import PSEUDO
from . import seeds
from .artefacts import aligned, check_same_setup, is_blend, oof_fingerprint, read_cv, read_fingerprint, read_predictions

KEY = "config key 'data.pseudo_labels'"
SOURCE_KEYS = (("problem",), ("data", "id_col"), ("data", "target_cols"))  # what a source must share


def source_config(cfg: Config) -> Config:
    """The pseudo-labelling experiment's own config, refused unless it is a finished experiment of train.py
    on this competition's problem, targets and folds."""
    folder = layout.named_or_folder(cfg.output_dir, cfg.data.pseudo_labels)
    name = folder.name
    if name == cfg.experiment:
        raise ConfigError(f"{KEY}: {name!r} is this experiment; name another one, trained before it")
    if not (folder / layout.CV).exists():
        raise ConfigError(f"{KEY}: {name!r} is not a finished experiment ({folder / layout.CV} does not exist)")
    cv = read_cv(folder)
    if is_blend(folder) or "floor" in cv:
        raise ConfigError(
            f"{KEY}: {name!r} is a {'blend' if is_blend(folder) else 'scikit-learn floor'}, which keeps no test "
            "predictions per fold: name an experiment trained by train.py"
        )
    check_same_setup(cfg, folder, SOURCE_KEYS, "this experiment", "a pseudo-labels source must share it")
    # Where it is now: under this run's output_dir, in the folder it is named by.
    return replace(load_config(folder / layout.CONFIG), experiment=name, output_dir=str(folder.parent))


def check_pseudo_labels(cfg: Config, competition: Competition) -> None:
    """Everything about the pseudo-labels that can be refused, before anything is trained."""
    problem = competition.problem
    if cfg.model.mode == "text2text":
        raise ConfigError(f"{KEY}: text2text learns to write labels, not soft ones; use model.mode encoder")
    if problem.kind == "multiclass" and cfg.mixup.enabled:
        raise ConfigError(f"{KEY}: mixup mixes class indices, not the soft labels of test rows; set its alphas to 0")
    if cfg.data.skip_bad_rows:
        raise ConfigError(
            f"{KEY}: with data.skip_bad_rows, an unreadable test row would train as a blank input with the label "
            "predicted for it; fix the test inputs, or set data.skip_bad_rows to false"
        )
    if problem.kind == "regression" and cfg.data.pseudo_threshold:
        raise ConfigError("config key 'data.pseudo_threshold': a regression's predictions have no confidence; use 0")
    source = source_config(cfg)
    folder = source.experiment_dir
    theirs = read_csv(layout.oof(folder))
    ours = competition.train.set_index(cfg.data.id_col).fold.astype(str)
    theirs = theirs.set_index(cfg.data.id_col).fold.reindex(ours.index)
    differ = theirs.ne(ours)
    if differ.any():
        row = differ.idxmax()
        raise ConfigError(
            f"{KEY}: {source.experiment!r} was made on other folds (row {row!r} is in its fold {theirs[row]} and "
            f"in this experiment's fold {ours[row]}): its models trained on rows this experiment validates on; "
            "train it with the same cv section and seed"
        )
    for run in seeds.runs(source):
        fingerprint = oof_fingerprint(layout.oof(run.experiment_dir))  # of the OOF its folds' models made
        for fold in range(cfg.cv.n_folds):
            path = run.fold_dir(fold) / layout.TEST_PREDS
            if fingerprint is None or read_fingerprint(path) != fingerprint:
                raise UserError(
                    f"{KEY}: {path} is missing or older than the folds beside it: run python predict.py "
                    f"--config {folder / layout.CONFIG} --predict_with folds (or both)"
                )


def source_fingerprint(cfg: Config) -> str | None:
    """Which version of the pseudo-labels' source a fold trains on: its oof.csv's fingerprint (None: none)."""
    return oof_fingerprint(layout.oof(source_config(cfg).experiment_dir)) if cfg.data.pseudo_labels else None


def check_folds_share_source(cfg: Config, results: list) -> None:
    """Refuse to merge folds trained on pseudo-labels of another version of their source than the current one
    (it was trained again between them): their OOF would mix two sets of labels."""
    current = source_fingerprint(cfg)
    stale = [result.fold for result in results if result is not None and result.pseudo_source != current]
    if stale:
        raise UserError(
            f"{KEY}: fold {', '.join(map(str, stale))} of {cfg.experiment!r} trained on pseudo-labels of "
            f"{cfg.data.pseudo_labels!r} as it was before it was trained or predicted again: train "
            f"{'it' if len(stale) == 1 else 'them'} again with python train.py --config "
            f"{cfg.experiment_dir / layout.CONFIG} --output_dir {cfg.output_dir} --fold {','.join(map(str, stale))} "
            "--force"
        )


def confidence(preds: np.ndarray, kind: str) -> np.ndarray:
    """How sure each row's predicted labels are: the top class's probability, or for 0/1 labels the least sure
    label's max(p, 1 - p). Regression values are all kept."""
    if kind == "multiclass":
        return preds.max(axis=1)
    if kind == "regression":
        return np.ones(len(preds))
    return np.maximum(preds, 1 - preds).min(axis=1)


def test_labels(cfg: Config, competition: Competition, fold: int | str) -> np.ndarray:
    """The source's predictions of every test row, in test.csv's order: its fold-k models' for fold k, the
    predictions it submitted (test_preds.csv) for the full-data refit."""
    source, problem = source_config(cfg), competition.problem
    if fold == layout.FULL:
        paths = [source.experiment_dir / layout.TEST_PREDS]
    else:
        paths = [run.fold_dir(fold) / layout.TEST_PREDS for run in seeds.runs(source)]
    ids = competition.test[cfg.data.id_col]
    tables = [aligned(path, read_predictions(path, problem), cfg.data.id_col, ids, "test.csv") for path in paths]
    return np.mean([table[problem.pred_columns].to_numpy(dtype=np.float32) for table in tables], axis=0)


def with_pseudo_labels(
    cfg: Config, competition: Competition, rows: pd.DataFrame, fold: int | str
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """A fold's training rows and after them the test rows sure enough, marked PSEUDO; the targets of all of
    them as floats (class probabilities for multiclass); and how many test rows were added."""
    problem = competition.problem
    preds = test_labels(cfg, competition, fold)
    keep = confidence(preds, problem.kind) >= cfg.data.pseudo_threshold
    targets = problem.encode(rows)
    if problem.kind == "multiclass":  # soft labels need every row's target as probabilities
        targets = np.eye(problem.num_outputs, dtype=np.float32)[targets]
    test = competition.test[keep].assign(**{PSEUDO: True})
    both = pd.concat([rows.assign(**{PSEUDO: False}), test], ignore_index=True)
    return both, np.concatenate([targets, preds[keep]]).astype(np.float32), int(keep.sum())
