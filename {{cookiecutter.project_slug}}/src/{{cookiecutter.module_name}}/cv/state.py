"""What is on disk of an experiment: each finished fold's scores (FoldResult), whether a fold was trained with
this config, whether the CV is current, and which folds a prediction can use."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import Config, ConfigError, config_changes, load_config
from ..run import layout
from ..run.errors import UserError
from ..run.io import write_json
from .artefacts import merged_from_current_oof


@dataclass
class FoldResult:
    """A fold's metrics.json: its score from the chosen weights, and the variants' scores where made."""

    fold: int
    metric: str
    weights: str  # which weights, in words
    score: float
    score_no_tta: float | None = None
    score_best: float | None = None
    epochs: int | None = None  # trained to reach the chosen weights: what a full-data refit trains for
    pseudo_source: str | None = None  # with pseudo-labels: the fingerprint of their source's oof.csv

    def variant(self, name: str) -> float | None:
        return self.score if not name else getattr(self, f"score_{name}")

    def write(self, path: Path) -> None:
        write_json({key: value for key, value in asdict(self).items() if value is not None}, path)

    @classmethod
    def read(cls, path: Path) -> FoldResult | None:
        """The fold's metrics.json; None before it finished. Keys of another version are left aside."""
        if not path.exists():
            return None
        try:
            saved = json.loads(path.read_text())
            return cls(**{key: saved[key] for key in cls.__dataclass_fields__ if key in saved})
        except (ValueError, TypeError) as error:
            raise UserError(
                f"{path} does not read as a fold's metrics ({type(error).__name__}: {error}): train the fold "
                "again with --force"
            ) from None


def check_same_config(cfg: Config, fold: int, retrain: str = "retrain with --force") -> None:
    changes = config_changes(cfg, cfg.fold_dir(fold) / layout.CONFIG)
    if changes:
        raise ConfigError(
            f"fold {fold} of experiment {cfg.experiment!r} was trained with another config ({'; '.join(changes)}): "
            f"name a new experiment (--experiment NAME), or {retrain}"
        )


def finished_score(cfg: Config, fold: int) -> float | None:
    """The score of a finished fold (its metrics.json), or None if the fold has not finished."""
    result = FoldResult.read(cfg.fold_dir(fold) / layout.METRICS)
    return result.score if result else None


def check_experiment(cfg: Config, folds: Sequence[int], force: bool) -> dict[int, float]:
    """The finished folds that will be skipped, with their scores. A finished fold trained with another
    config is refused, whether it is asked for or not: one experiment's CV and submission come from one config."""
    skipped = {}
    for fold in range(cfg.cv.n_folds):
        score = finished_score(cfg, fold)
        retrained = force and fold in folds
        if score is None or retrained:
            continue
        hint = "retrain with --force" if fold in folds else "retrain every fold with --fold all --force"
        check_same_config(cfg, fold, hint)
        if fold in folds:
            skipped[fold] = score
    return skipped


def cv_is_current(cfg: Config) -> bool:
    """cv.json exists and was written after every fold finished (a merge killed halfway, or a fold
    retrained since, leaves it missing or older)."""
    cv_json = cfg.experiment_dir / layout.CV
    if not merged_from_current_oof(cfg.experiment_dir):
        return False  # missing, cut short or edited since (or by another version): merged again
    finished = [cfg.fold_dir(k) / layout.METRICS for k in range(cfg.cv.n_folds)]
    return all(path.exists() and path.stat().st_mtime_ns <= cv_json.stat().st_mtime_ns for path in finished)


def retrain(cfg: Config, fold: int | str) -> str:
    """The command that trains a fold (or the refit) of this experiment anew."""
    config, where = cfg.experiment_dir / layout.CONFIG, cfg.output_dir
    return f"train it again with python train.py --config {config} --output_dir {where} --fold {fold} --force"


def trained_config(cfg: Config, overrides: list[str]) -> Config:
    """The config the experiment named by `cfg` was trained with, and on top the `overrides` given now
    (a Kaggle kernel's data.dir, a larger batch size)."""
    saved = cfg.experiment_dir / layout.CONFIG
    if not saved.exists():
        raise UserError(f"no trained experiment at {cfg.experiment_dir}: run python train.py --fold all first")
    return load_config(saved, overrides)


def trained_folds(cfg: Config) -> list[int]:
    """The folds with exported weights (model.safetensors); at least one, or an error saying what to run.
    Folds trained with different configs are refused: their mean would be of two experiments."""
    folds = [k for k in range(cfg.cv.n_folds) if (cfg.fold_dir(k) / layout.WEIGHTS).exists()]
    for k in range(cfg.cv.n_folds):  # finished, yet its weights are gone: the mean would silently lack it
        if k not in folds and (cfg.fold_dir(k) / layout.METRICS).exists():
            raise UserError(
                f"fold {k} of {cfg.experiment_dir} finished ({layout.METRICS}) but has no {layout.WEIGHTS}: "
                f"{retrain(cfg, k)}"
            )
    if not folds:
        raise UserError(f"no trained fold under {cfg.experiment_dir}: run python train.py --fold all first")
    with_config = [k for k in folds if (cfg.fold_dir(k) / layout.CONFIG).exists()]  # a bundle keeps none
    for k in with_config[1:]:
        first = with_config[0]
        changes = config_changes(load_config(cfg.fold_dir(first) / layout.CONFIG), cfg.fold_dir(k) / layout.CONFIG)
        if changes:
            raise ConfigError(
                f"folds {first} and {k} of {cfg.experiment_dir} were trained with different configs "
                f"({'; '.join(changes)}): retrain them all with python train.py --fold all --force"
            )
    return folds


def prediction_models(cfg: Config) -> list[int | str]:
    """The folds (those trained) and the full-data refit whose predictions predict.py averages, as
    `predict_with` asks; an error saying what to run where one is missing."""
    folds = trained_folds(cfg) if cfg.predict_with in ("folds", "both") else []
    if cfg.predict_with == "folds":
        return folds
    if not (cfg.fold_dir(layout.FULL) / layout.WEIGHTS).exists():
        raise UserError(
            f"predict_with {cfg.predict_with}: no full-data refit in {cfg.fold_dir(layout.FULL)}: run python "
            "train.py --fold full first, or predict with --predict_with folds"
        )
    if not refit_is_current(cfg):
        raise UserError(
            f"predict_with {cfg.predict_with}: the full-data refit in {cfg.fold_dir(layout.FULL)} is older than the "
            "folds trained since: run python train.py --fold full again"
        )
    return [*folds, layout.FULL]


def refit_is_current(cfg: Config) -> bool:
    """The refit finished after every fold it took its epochs from (a bundle keeps no metrics.json to compare)."""
    done = cfg.fold_dir(layout.FULL) / layout.REFIT
    folds = [cfg.fold_dir(k) / layout.METRICS for k in range(cfg.cv.n_folds)]
    if not done.exists():
        return not any(path.exists() for path in folds)
    return all(not path.exists() or path.stat().st_mtime_ns <= done.stat().st_mtime_ns for path in folds)
