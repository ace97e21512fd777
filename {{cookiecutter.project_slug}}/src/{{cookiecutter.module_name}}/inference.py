"""Fold-ensembled test predictions and a checked submission.csv, with plain PyTorch: Lightning is not imported.

Each fold's weights are read from its model.safetensors (never unpickled), predictions are averaged
over the folds (probabilities for classification, values for regression), and the submission is
checked against sample_submission.csv before it is written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import load_model

from .atomic import write_csv
from .config import Config, ConfigError, load_config
from .data.competition import Competition, load_competition, submission_columns
from .data.loaders import make_dataset, make_loader
from .models import build_net, describe_net, predict_loader


def load_fold_model(cfg: Config, competition: Competition, fold: int) -> torch.nn.Module:
    """A fold's network with its weights from model.safetensors, refused (naming both) if they do not fit."""
    path = cfg.fold_dir(fold) / "model.safetensors"
    wanted = describe_net(cfg, competition.problem)
    with safe_open(path, "pt") as weights:  # its metadata also names tied weights (T5): keep what describes the net
        saved = {key: value for key, value in (weights.metadata() or {}).items() if key in wanted}

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
    net = build_net(replace(cfg, model=replace(cfg.model, pretrained=False)), competition.problem)
    try:
        load_model(net, path)
    except RuntimeError as error:
        raise ConfigError(f"{refusal} ({str(error).splitlines()[1].strip()}): {hint}") from None
    return net.eval()


def predict_fold(cfg: Config, competition: Competition, fold: int, device: torch.device) -> np.ndarray:
    net = load_fold_model(cfg, competition, fold)
    loader = make_loader(cfg, make_dataset(cfg, net, competition.test, "test", problem=None))
    return predict_loader(net, loader, competition.problem, cfg.tta.views, device)


def submission_table(cfg: Config, competition: Competition, preds: np.ndarray) -> pd.DataFrame:
    """Predictions in the layout of sample_submission.csv, in its row order (its ids were checked against
    test.csv's when the data was loaded)."""
    problem, id_col = competition.problem, cfg.data.id_col
    if problem.is_classification and cfg.submission == "label":
        preds = problem.labels(preds)
    # label: the labels; probability: one column per class (multiclass), else that of the second class
    # (binary) or one per label (multilabel); regression: the values.
    values = pd.DataFrame(preds, columns=submission_columns(cfg, problem)[1:])
    values.insert(0, id_col, competition.test[id_col].to_numpy())
    return values.set_index(id_col).loc[competition.sample_submission[id_col]].reset_index()


def validate_submission(submission: pd.DataFrame, sample: pd.DataFrame, id_col: str) -> None:
    """Refuse a submission Kaggle would reject or score wrongly, saying what differs from the sample."""
    if list(submission.columns) != list(sample.columns):
        raise ValueError(
            f"submission columns {list(submission.columns)} differ from sample_submission.csv's "
            f"{list(sample.columns)}: set data.target_cols or submission in the config"
        )
    if len(submission) != len(sample):
        raise ValueError(f"submission has {len(submission)} rows, sample_submission.csv has {len(sample)}")
    differ = submission[id_col].to_numpy() != sample[id_col].to_numpy()
    if differ.any():
        row = int(np.argmax(differ))
        raise ValueError(
            f"submission ids differ from sample_submission.csv's from row {row}: "
            f"{submission[id_col].iloc[row]!r} where the sample has {sample[id_col].iloc[row]!r}"
        )
    numbers = submission.drop(columns=id_col).select_dtypes("number")
    bad = ~np.isfinite(numbers.to_numpy(dtype=float))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise ValueError(
            f"submission has {int(bad.sum())} NaN or infinite values, first in column "
            f"{numbers.columns[col]!r} at row {row}"
        )
    missing = submission.drop(columns=id_col).isna().any()
    if missing.any():
        raise ValueError(f"submission has empty values in column {missing.idxmax()!r}")


def trained_config(cfg: Config, overrides: list[str]) -> Config:
    """The config the experiment named by `cfg` was trained with, and on top the `overrides` given now
    (a Kaggle kernel's data.dir, a larger batch size)."""
    saved = cfg.experiment_dir / "config.yaml"
    if not saved.exists():
        raise FileNotFoundError(f"no trained experiment at {cfg.experiment_dir}: run python train.py --fold all first")
    return load_config(saved, overrides)


def trained_folds(cfg: Config) -> list[int]:
    """The folds with exported weights (model.safetensors); at least one, or an error saying what to run."""
    folds = [k for k in range(cfg.cv.n_folds) if (cfg.fold_dir(k) / "model.safetensors").exists()]
    if not folds:
        raise FileNotFoundError(f"no trained fold under {cfg.experiment_dir}: run python train.py --fold all first")
    return folds


def predict(cfg: Config, out: Path | None = None) -> Path:
    """Average the finished folds' test predictions and write `out` (outputs/<experiment>/submission.csv)."""
    competition = load_competition(cfg, folds=False)
    folds = trained_folds(cfg)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    preds = np.mean([predict_fold(cfg, competition, fold, device) for fold in folds], axis=0)
    submission = submission_table(cfg, competition, preds)
    validate_submission(submission, competition.sample_submission, cfg.data.id_col)
    path = Path(out or cfg.experiment_dir / "submission.csv")
    write_csv(submission, path)
    missing = sorted(set(range(cfg.cv.n_folds)) - set(folds))
    print(
        f"Wrote {path}: {len(submission)} rows, the mean of folds {', '.join(map(str, folds))}"
        + (f" (fold {', '.join(map(str, missing))} not trained)" if missing else "")
    )
    return path
