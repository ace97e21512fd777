"""Fold-ensembled test predictions, with plain PyTorch: Lightning is not imported.

Each fold's weights are read from its model.safetensors (never unpickled), predictions are averaged over
the folds (probabilities for classification, values for regression), and submission.csv is written
checked against sample_submission.csv (table.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model

from ..config import Config, ConfigError
from ..cv import seeds
from ..cv.split import load_competition
from ..cv.state import prediction_models, retrain
from ..data.competition import Competition
from ..run import layout
from ..run.errors import UserError
from ..run.paths import shown
from ..tasks import get_task
from .table import submission_table, write_submission, write_test_predictions


def load_fold_model(cfg: Config, competition: Competition, fold: int | str) -> torch.nn.Module:
    """A fold's network with its weights from model.safetensors, refused (naming both) if they do not fit."""
    path, task = cfg.fold_dir(fold) / layout.WEIGHTS, get_task(cfg)
    wanted = task.net_metadata(cfg, competition.problem)
    try:
        with safe_open(path, "pt") as weights:  # its metadata also names tied weights (T5): keep what describes it
            saved = {key: value for key, value in (weights.metadata() or {}).items() if key in wanted}
    except SafetensorError as error:  # cut short, or not a safetensors file
        raise UserError(f"{path} does not read as weights ({error}): {retrain(cfg, fold)}") from None

    def describe(net: dict[str, str]) -> str:
        return f"{net.get('model')!r} ({net.get('mode') or 'vision'}) with {net.get('outputs')} outputs"

    # The model's name may change (a hub name, then a Kaggle dataset's folder): the mode, the outputs and the
    # tensors themselves must not.
    if saved:
        refusal = f"{path} holds a {describe(saved)}, but this config builds a {describe(wanted)}"
    else:  # written before model.safetensors described its network
        refusal = f"{path} does not fit a {describe(wanted)}"
    hint = "predict with the config the fold was trained with (outputs/<experiment>/config.yaml), or retrain"
    if saved and (saved["mode"], saved["outputs"]) != (wanted["mode"], wanted["outputs"]):
        raise ConfigError(f"{refusal}: {hint}")
    # The fold's own weights replace any pretrained ones: none are downloaded or read.
    net = task.build_net(replace(cfg, model=replace(cfg.model, pretrained=False)), competition.problem)
    try:
        load_model(net, path)
    except SafetensorError as error:
        raise UserError(f"{path} does not read as weights ({error}): {retrain(cfg, fold)}") from None
    except RuntimeError as error:
        raise ConfigError(f"{refusal} ({str(error).splitlines()[1].strip()}): {hint}") from None
    return net.eval()


def predict_fold(cfg: Config, competition: Competition, fold: int | str, device: torch.device) -> np.ndarray:
    net, task = load_fold_model(cfg, competition, fold), get_task(cfg)
    loader = task.loader(cfg, task.make_dataset(cfg, net, competition.test, "test", problem=None))
    return task.predict_loader(net, loader, competition.problem, cfg.tta.views, device)


def describe_models(cfg: Config, models: list[int | str]) -> str:
    """The models of one run in words, for the submission's log: folds 0, 1 (fold 2 not trained), the refit."""
    folds = [k for k in models if k != layout.FULL]
    missing = sorted(set(range(cfg.cv.n_folds)) - set(folds)) if cfg.predict_with != "full" else []
    words = [f"folds {', '.join(map(str, folds))}"] if folds else []
    words += ["the full-data refit"] if layout.FULL in models else []
    return " and ".join(words) + (f" (fold {', '.join(map(str, missing))} not trained)" if missing else "")


def predict(cfg: Config, out: Path | None = None) -> Path:
    """Average the test predictions of the models `predict_with` names (the finished folds, the full-data refit
    or both, each model weighing the same; with `seeds`, each seed's) and write `out`
    (outputs/<experiment>/submission.csv), and beside it test_preds.csv, the predictions before labels are chosen."""
    if out is not None and Path(out).is_dir():
        raise UserError(f"--out {shown(out)} is a folder: give a file's path, such as {Path(out) / 'submission.csv'}")
    competition = load_competition(cfg, folds=False)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    used, runs = [], []
    for run in seeds.runs(cfg):  # each seed's models are averaged first: a seed missing a fold weighs as much
        models = prediction_models(run)
        each = {model: predict_fold(run, competition, model, device) for model in models}
        if out is None:  # in the project (a Kaggle notebook's bundle is read-only): each fold's, for pseudo-labels
            for model, preds in each.items():
                write_test_predictions(run, competition, preds, run.fold_dir(model) / layout.TEST_PREDS)
        runs.append(np.mean(list(each.values()), axis=0))
        used.append(describe_models(run, models) + (f" of seed {run.seed}" if cfg.seeds else ""))
    preds = np.mean(runs, axis=0)
    submission = submission_table(cfg, competition, preds)
    path = Path(out or cfg.experiment_dir / layout.SUBMISSION)
    write_submission(cfg, competition, submission, path)
    write_test_predictions(cfg, competition, preds, path.with_name(layout.TEST_PREDS))
    print(f"Wrote {path}: {len(submission)} rows, the mean of {'; '.join(used)} (predict_with: {cfg.predict_with})")
    return path
