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

from .atomic import write_atomic
from .config import Config, ConfigError, config_changes, load_config
from .data.competition import Competition, load_competition, read_csv, submission_columns
from .data.loaders import make_dataset, make_loader
from .errors import DataError, UserError
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


def validate_submission(
    submission: pd.DataFrame, sample: pd.DataFrame, id_col: str, labels: set[str] | None = None
) -> None:
    """Refuse a submission Kaggle would reject or score wrongly, saying what differs from the sample. Both
    are compared as text: an id is right only when it is the sample's own string, byte for byte. `labels`:
    the values a submission of labels may hold; otherwise its values must be finite numbers."""
    if list(submission.columns) != list(sample.columns):
        raise DataError(
            f"submission columns {list(submission.columns)} differ from sample_submission.csv's "
            f"{list(sample.columns)}: set data.target_cols or submission in the config"
        )
    if len(submission) != len(sample):
        raise DataError(f"submission has {len(submission)} rows, sample_submission.csv has {len(sample)}")
    differ = submission[id_col].astype(str).to_numpy() != sample[id_col].astype(str).to_numpy()
    if differ.any():
        row = int(np.argmax(differ))
        raise DataError(
            f"submission ids differ from sample_submission.csv's from row {row}: "
            f"{submission[id_col].iloc[row]!r} where the sample has {sample[id_col].iloc[row]!r}"
        )
    values = submission.drop(columns=id_col).astype(str)
    empty = (values == "").to_numpy()
    if empty.any():
        row, col = map(int, np.argwhere(empty)[0])
        raise DataError(
            f"submission has {int(empty.sum())} empty values, first in column {values.columns[col]!r} at row {row}"
        )
    if labels is not None:
        unknown = ~values.isin(labels).to_numpy()
        if unknown.any():
            row, col = map(int, np.argwhere(unknown)[0])
            raise DataError(
                f"submission holds {values.iat[row, col]!r} in column {values.columns[col]!r} at row {row}, "
                "not a label of train.csv"
            )
        return
    numbers = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise DataError(
            f"submission has {int(bad.sum())} NaN, infinite or non-numeric values, first in column "
            f"{values.columns[col]!r} at row {row}"
        )


def trained_config(cfg: Config, overrides: list[str]) -> Config:
    """The config the experiment named by `cfg` was trained with, and on top the `overrides` given now
    (a Kaggle kernel's data.dir, a larger batch size)."""
    saved = cfg.experiment_dir / "config.yaml"
    if not saved.exists():
        raise UserError(f"no trained experiment at {cfg.experiment_dir}: run python train.py --fold all first")
    return load_config(saved, overrides)


def trained_folds(cfg: Config) -> list[int]:
    """The folds with exported weights (model.safetensors); at least one, or an error saying what to run.
    Folds trained with different configs are refused: their mean would be of two experiments."""
    folds = [k for k in range(cfg.cv.n_folds) if (cfg.fold_dir(k) / "model.safetensors").exists()]
    if not folds:
        raise UserError(f"no trained fold under {cfg.experiment_dir}: run python train.py --fold all first")
    configs = [k for k in folds if (cfg.fold_dir(k) / "config.yaml").exists()]  # a bundle keeps none
    for k in configs[1:]:
        changes = config_changes(load_config(cfg.fold_dir(configs[0]) / "config.yaml"), cfg.fold_dir(k) / "config.yaml")
        if changes:
            raise ConfigError(
                f"folds {configs[0]} and {k} of {cfg.experiment_dir} were trained with different configs "
                f"({'; '.join(changes)}): retrain them all with python train.py --fold all --force"
            )
    return folds


def write_submission(cfg: Config, competition: Competition, submission: pd.DataFrame, path: Path) -> None:
    """Write submission.csv whole, after checking the very bytes written: read back as text, its ids and
    labels must be the sample's strings (a float id 10.00 written as 10.0 would not be)."""
    problem, labels = competition.problem, None
    if problem.is_classification and cfg.submission == "label":
        labels = set(problem.classes) if problem.kind != "multilabel" else {"0", "1"}

    def write(tmp: Path) -> None:
        submission.to_csv(tmp, index=False)
        validate_submission(read_csv(tmp), competition.sample_submission, cfg.data.id_col, labels)

    write_atomic(path, write)


def predict(cfg: Config, out: Path | None = None) -> Path:
    """Average the finished folds' test predictions and write `out` (outputs/<experiment>/submission.csv)."""
    competition = load_competition(cfg, folds=False)
    folds = trained_folds(cfg)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    preds = np.mean([predict_fold(cfg, competition, fold, device) for fold in folds], axis=0)
    submission = submission_table(cfg, competition, preds)
    path = Path(out or cfg.experiment_dir / "submission.csv")
    write_submission(cfg, competition, submission, path)
    missing = sorted(set(range(cfg.cv.n_folds)) - set(folds))
    print(
        f"Wrote {path}: {len(submission)} rows, the mean of folds {', '.join(map(str, folds))}"
        + (f" (fold {', '.join(map(str, missing))} not trained)" if missing else "")
    )
    return path
