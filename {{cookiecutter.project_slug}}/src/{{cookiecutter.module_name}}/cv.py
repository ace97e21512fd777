"""The fold runner: `train(cfg, folds)` trains each fold from fresh weights, then merges the OOF into a CV score.

Layout under outputs/<experiment>/:
    config.yaml              the resolved config
    fold<k>/config.yaml      the config the fold was trained with
    fold<k>/checkpoints/     best.ckpt, chosen on the validation metric (or the top-k epoch<n>.ckpt, to average),
                             and last.ckpt, written after every epoch, for --resume
    fold<k>/model.safetensors  the chosen weights (averaging.weights), for inference without Lightning
    fold<k>/oof.csv          that fold's validation predictions from those weights (with TTA when on), with the row ids
    fold<k>/oof_no_tta.csv   the same without TTA, when TTA is on
    fold<k>/oof_best.csv     the best single checkpoint's, when the chosen weights are an average
    fold<k>/metrics.json     the fold's score; written last, so it marks the fold as finished
    fold<k>/logs/version_<n>/  the CSV log of each attempt (a resumed fold adds one)
    oof.csv, cv.json         once every fold is finished: all OOF rows, one per training row, and the CV
    *.png                    pictures of the OOF: confusion matrix, ROC/PR, residuals, scores per fold
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
from lightning.pytorch.utilities import rank_zero_only
from safetensors.torch import save_model

from .atomic import write_atomic, write_csv, write_json
from .averaging import SWA, average_checkpoints, checkpoint_weights, has_batchnorm, recalibrate_batchnorm
from .config import Config, config_changes, save_config
from .data.competition import Competition, load_competition, read_csv
from .data.datamodule import FoldDataModule
from .errors import ConfigError, DataError, NonFiniteLossError
from .folds import save_folds
from .lock import exclusive
from .metrics import get_metric, undefined_on
from .models import build_net, describe_net, predict_loader
from .module import make_module
from .plots import save_oof_plots
from .problem import natural
from .tracking import check_loggers, finish_wandb_run, log_cv, make_loggers
from .trainer import best_checkpoint, check_hardware, make_trainer

# The other scores a fold may record beside its main one, and their column titles.
VARIANTS = {"_no_tta": "no TTA", "_best": "best ckpt"}


def is_main_process() -> bool:
    """False in the other processes of a multi-GPU (DDP) run: they train, but only the first one writes files."""
    return rank_zero_only.rank == 0


def check_same_config(cfg: Config, fold: int, retrain: str = "retrain with --force") -> None:
    changes = config_changes(cfg, cfg.fold_dir(fold) / "config.yaml")
    if changes:
        raise ConfigError(
            f"fold {fold} of experiment {cfg.experiment!r} was trained with another config ({'; '.join(changes)}): "
            f"name a new experiment (--experiment NAME), or {retrain}"
        )


def fold_metrics(cfg: Config, fold: int) -> dict | None:
    """A finished fold's metrics.json (its score, and its score without TTA when TTA is on), else None."""
    path = cfg.fold_dir(fold) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def finished_score(cfg: Config, fold: int) -> float | None:
    """The score of a finished fold, or None if the fold has not finished."""
    metrics = fold_metrics(cfg, fold)
    return metrics["score"] if metrics else None


def build_fold(cfg: Config, competition: Competition, fold: int, loggers: list | None = None, out: Path | None = None):
    """A fresh network, module, data and Trainer for one fold: nothing is carried over from another fold."""
    L.seed_everything(cfg.seed, workers=True)
    net = build_net(cfg, competition.problem)
    module = make_module(net, cfg, competition.problem)
    data = FoldDataModule(cfg, competition, fold, net)
    trainer = make_trainer(cfg, module, out or cfg.fold_dir(fold), loggers)
    return module, data, trainer, best_checkpoint(trainer)


def uses_tta(cfg: Config) -> bool:
    return cfg.tta.views != ["identity"]


def resume_checkpoint(out: Path) -> Path | None:
    """The newest of last.ckpt (written every epoch) and a SLURM preemption's hpc_ckpt_<n>.ckpt, if any."""
    found = [*out.glob("checkpoints/last.ckpt"), *out.glob("hpc_ckpt_*.ckpt")]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def run_fold(cfg: Config, competition: Competition, fold: int, resume: bool = False) -> float | None:
    """Train one fold (or resume it); write its weights, OOF and score; return the score. In a multi-GPU
    run every process trains and only the first writes; the others return None."""
    out, main = cfg.fold_dir(fold), is_main_process()
    ckpt = resume_checkpoint(out) if resume else None
    if ckpt:
        check_same_config(cfg, fold)
        if main:
            print(f"fold {fold}: resuming from {ckpt}")
    elif main:
        if resume:
            print(f"fold {fold}: no checkpoint in {out} to resume from; training from the start")
        # Old checkpoints would make ModelCheckpoint write best-v1.ckpt beside a stale best.ckpt.
        shutil.rmtree(out, ignore_errors=True)
        save_config(cfg, out / "config.yaml")
    module, data, trainer, checkpoint = build_fold(cfg, competition, fold, make_loggers(cfg, fold, out))
    score = None
    try:
        try:  # weights_only: a checkpoint is a pickle, and nothing in it but tensors and plain values may load
            trainer.fit(module, datamodule=data, ckpt_path=ckpt, weights_only=True)
        except NonFiniteLossError as error:
            last = resume_checkpoint(out)
            kept = f"its last good checkpoint, {last}, is kept" if last else "no epoch had finished to keep"
            raise NonFiniteLossError(
                f"fold {fold} stopped: {error}; {kept}. Lower optim.lr, set trainer.gradient_clip_val or use "
                "trainer.precision 32-true, then train the fold again (--resume retries from the checkpoint)"
            ) from None
        if not main:
            return None
        if not checkpoint.best_model_path:
            raise ConfigError(f"fold {fold} saved no checkpoint: was validation skipped (trainer.limit_val_batches)?")
        predictions = fold_predictions(cfg, module, data, trainer, checkpoint)
        # The module now holds the chosen weights: the ones predict.py will use.
        # save_model stores tied weights (T5's embeddings) once and channels_last weights contiguously.
        metadata = describe_net(cfg, competition.problem)
        write_atomic(out / "model.safetensors", lambda tmp: save_model(module.net, str(tmp), metadata))
        problem, targets = competition.problem, competition.problem.encode(data.valid_rows)
        result = {"fold": fold, "metric": cfg.metric, "weights": weights_used(cfg)}
        for variant, preds in predictions.items():  # "" first: the chosen weights, with TTA when on
            result["score" + variant] = value = module.metric(targets, preds, problem.kind)
            if not math.isfinite(value):  # JSON has no NaN, and a CV of NaN says nothing
                raise DataError(
                    f"fold {fold}: {cfg.metric} of its validation predictions is {value}; the predictions hold "
                    f"{int((~np.isfinite(preds)).sum())} non-finite values: lower optim.lr, or check the targets"
                )
            write_csv(oof_table(cfg, competition, data.valid_rows, preds), out / f"oof{variant}.csv")
        score = result["score"]
        write_json(result, out / "metrics.json")
    finally:
        finish_wandb_run({f"oof/{cfg.metric}": score} if score is not None else None)
    return score


def debug_fold(cfg: Config, competition: Competition, fold: int) -> None:
    """fast_dev_run or overfit_batches: train in a temporary folder, without loggers; the experiment is untouched."""
    with tempfile.TemporaryDirectory(prefix="debug-") as tmp:
        module, data, trainer, _ = build_fold(cfg, competition, fold, out=Path(tmp))
        trainer.fit(module, datamodule=data)
    if is_main_process():
        print(f"fold {fold}: debug run finished (trainer.fast_dev_run / trainer.overfit_batches); nothing was written")


def weights_used(cfg: Config) -> str:
    """Which weights produce a fold's OOF and export, in words for cv.json."""
    ema = "EMA " if cfg.averaging.ema else ""
    if cfg.averaging.weights == "swa":
        return f"the SWA of the weights from epoch {cfg.averaging.swa_start_epoch} on"
    if cfg.averaging.weights == "top_k":
        return f"the mean of the top {cfg.averaging.top_k} {ema}checkpoints"
    return f"the best {ema}checkpoint"


def fold_predictions(cfg, module, data, trainer, checkpoint) -> dict[str, np.ndarray]:
    """The validation predictions of the chosen weights ("", with TTA when on), and beside them the same
    weights without TTA ("_no_tta") and the best single checkpoint ("_best", its BatchNorm statistics
    recomputed as the average's are) when they differ. Leaves the chosen weights in `module`."""

    device = trainer.strategy.root_device  # Lightning has moved the module back to the CPU after fit

    def predict(views: list[str]) -> np.ndarray:
        return predict_loader(module.net, data.val_dataloader(), module.problem, views, device)

    tta, views, weights = uses_tta(cfg), cfg.tta.views, cfg.averaging.weights
    if weights == "swa":
        swa = next(callback for callback in trainer.callbacks if isinstance(callback, SWA))
        if not swa.updates:  # never fall back to the raw weights silently
            raise ConfigError(
                f"config key 'averaging.swa_start_epoch': training stopped after epoch {trainer.current_epoch}, "
                f"before SWA's first update at the end of "
                f"epoch {swa.start_epoch} (averaging.swa_start_epoch): no SWA weights to use"
            )
        final = {name: tensor.clone() for name, tensor in module.state_dict().items()}  # the SWA average
    module.load_state_dict(checkpoint_weights(checkpoint.best_model_path))
    if weights != "best" and has_batchnorm(module):
        # Compared with an average, whose BatchNorm statistics are recomputed below, the best checkpoint gets
        # its statistics recomputed the same way: like with like, or the table would credit the average
        # with what the recomputation alone gains.
        recalibrate_batchnorm(module, data.train_dataloader(), device)
    best = {"": predict(views)}
    if tta:
        best["_no_tta"] = predict(["identity"])
    if weights == "best":
        return best
    module.load_state_dict(final if weights == "swa" else average_checkpoints(checkpoint.best_k_models))
    if has_batchnorm(module):
        recalibrate_batchnorm(module, data.train_dataloader(), device)
    averaged = {"": predict(views)}
    if tta:
        averaged["_no_tta"] = predict(["identity"])
    return {**averaged, "_best": best[""]}


def oof_table(cfg: Config, competition: Competition, rows: pd.DataFrame, preds: np.ndarray) -> pd.DataFrame:
    table = rows[[cfg.data.id_col, "fold", *cfg.data.target_cols]].reset_index(drop=True)
    return pd.concat([table, pd.DataFrame(preds, columns=competition.problem.pred_columns)], axis=1)


def merge_oof(cfg: Config, competition: Competition) -> dict | None:
    """Once every fold is finished: write oof.csv (one row per training row) and cv.json; return cv.json."""
    n_folds = cfg.cv.n_folds
    records = [fold_metrics(cfg, fold) for fold in range(n_folds)]
    missing = [fold for fold, record in enumerate(records) if record is None]
    if missing:
        print(f"CV: fold {', '.join(map(str, missing))} not finished; oof.csv and cv.json need all {n_folds} folds")
        return None
    for fold in range(n_folds):
        check_same_config(cfg, fold)
    scores = [record["score"] for record in records]
    metric = get_metric(cfg.metric)
    oof, cv = merged_oof(cfg, competition, "oof.csv")
    result = {
        "metric": cfg.metric,
        "higher_is_better": metric.higher_is_better,
        "folds": scores,
        "cv": cv,
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "n_rows": len(oof),
        "tta": cfg.tta.views,
        "weights": weights_used(cfg),
    }
    # The scores above come from the chosen weights, with TTA when on; these from the same weights without
    # TTA, and from the best single checkpoint when the chosen weights are an average.
    for variant in VARIANTS:
        if f"score{variant}" in records[0]:
            result[f"folds{variant}"] = [record[f"score{variant}"] for record in records]
            result[f"cv{variant}"] = merged_oof(cfg, competition, f"oof{variant}.csv")[1]
    write_csv(oof, cfg.experiment_dir / "oof.csv")
    log_cv(cfg, result, save_oof_plots(competition.problem, oof, result, cfg.experiment_dir))
    # Last: cv.json marks the merge as complete, so a run killed before it merges again next time.
    write_json(result, cfg.experiment_dir / "cv.json")
    return result


def cv_is_current(cfg: Config) -> bool:
    """cv.json exists and was written after every fold finished (a merge killed halfway, or a fold
    retrained since, leaves it missing or older)."""
    cv_json = cfg.experiment_dir / "cv.json"
    if not cv_json.exists():
        return False
    finished = [cfg.fold_dir(k) / "metrics.json" for k in range(cfg.cv.n_folds)]
    return all(path.exists() and path.stat().st_mtime_ns <= cv_json.stat().st_mtime_ns for path in finished)


def merged_oof(cfg: Config, competition: Competition, name: str) -> tuple[pd.DataFrame, float]:
    """The folds' `name` files as one table in train.csv's row order, checked to hold each row once, and its score."""
    id_col, problem = cfg.data.id_col, competition.problem
    oof = pd.concat([read_oof(cfg.fold_dir(k) / name, problem) for k in range(cfg.cv.n_folds)])
    train_ids = competition.train[id_col]
    if len(oof) != len(train_ids) or not oof[id_col].is_unique or set(oof[id_col]) != set(train_ids):
        raise DataError(
            f"the folds' {name} files hold {len(oof)} rows for {len(train_ids)} training rows: "
            "retrain the experiment with --fold all --force"
        )
    oof = oof.set_index(id_col).loc[train_ids].reset_index()
    score = get_metric(cfg.metric)(problem.encode(oof), oof[problem.pred_columns].to_numpy(), problem.kind)
    return oof, score


def read_oof(path: Path, problem) -> pd.DataFrame:
    """An OOF file: ids and targets as text, exactly as train.csv has them; the predictions as numbers."""
    oof = read_csv(path)
    return oof.astype({column: float for column in problem.pred_columns}).astype({"fold": int})


def print_table(cfg: Config, result: dict) -> None:
    variants = [v for v in VARIANTS if f"cv{v}" in result]
    header = f"{'fold':>6}  {cfg.metric:>10}" + "".join(f"  {VARIANTS[v]:>12}" for v in variants)
    lines = [header] + [
        f"{fold:>6}  {score:>10.4f}" + "".join(f"  {result[f'folds{v}'][fold]:>12.4f}" for v in variants)
        for fold, score in enumerate(result["folds"])
    ]
    lines += [
        f"{'mean':>6}  {result['mean']:>10.4f}  (std {result['std']:.4f})",
        f"{'CV':>6}  {result['cv']:>10.4f}" + "".join(f"  {result[f'cv{v}']:>12.4f}" for v in variants),
        f"weights: {result['weights']}" + (f"; TTA views: {', '.join(result['tta'])}" if uses_tta(cfg) else ""),
    ]
    print(f"\nExperiment {cfg.experiment!r} ({cfg.experiment_dir}/cv.json):\n" + "\n".join(lines))


def check_can_run(cfg: Config) -> None:
    """Refuse, before anything is written, what this machine or these libraries cannot run."""
    if cfg.task == "nlp":
        from .models.text import check_precision

        check_precision(cfg)  # first: it says why T5 must not use float16, on any hardware
    else:
        from .models.vision import check_model

        check_model(cfg.model)
    check_hardware(cfg)
    check_loggers(cfg)


def check_folds_can_train(cfg: Config, competition: Competition) -> None:
    """Refuse, before anything is written, a fold with no full training batch, one whose validation rows the
    metric cannot score (ROC AUC with one class), and QWK on grades that have no order."""
    problem, train_rows = competition.problem, competition.train
    if cfg.metric == "qwk" and problem.kind == "multiclass":
        words = [label for label in problem.classes if natural(label)[0]]
        if words:  # QWK weighs errors by the distance between grades: text labels have no such order
            raise ConfigError(
                f"config key 'metric': qwk needs grades that are numbers, and {problem.target_cols[0]!r} holds "
                f"{words[0]!r}; map the grades to 0, 1, 2, ... in train.csv, or use another metric"
            )
    for fold in range(cfg.cv.n_folds):  # every fold: a CV needs them all, whichever is trained first
        valid = train_rows[train_rows.fold == fold]
        n_train = len(train_rows) - len(valid)
        if cfg.task == "vision" and cfg.data.batch_size > n_train:  # vision drops the last partial batch
            raise ConfigError(
                f"config key 'data.batch_size': {cfg.data.batch_size} is more than the {n_train} training rows of "
                f"fold {fold}, so no full batch is left to train on; use at most {n_train}"
            )
        reason = undefined_on(cfg.metric, competition.problem, competition.problem.encode(valid))
        if reason:
            raise DataError(
                f"config key 'metric': {cfg.metric} is undefined on fold {fold}: {reason} among its {len(valid)} "
                "validation rows; use a stratified splitter (cv.splitter), fewer folds, or another metric"
            )


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


def train(cfg: Config, folds: Sequence[int], force: bool = False, resume: bool = False) -> dict:
    """Train the given folds, skipping finished ones unless `force`; merge the CV once all folds exist.

    Everything that can be refused is refused before the first file is written. Returns {"metric": name,
    "folds": {fold: score}, "cv": cv.json's contents or None}.
    """
    check_can_run(cfg)
    competition = load_competition(cfg)
    check_folds_can_train(cfg, competition)
    if cfg.debug:
        for fold in folds:
            debug_fold(cfg, competition, fold)
        return {"metric": cfg.metric, "folds": {}, "cv": None}
    finished = check_experiment(cfg, folds, force)
    main = is_main_process()
    with ExitStack() as locks:
        if main:  # the other processes of a multi-GPU run share the first one's folds
            for fold in folds:
                locks.enter_context(
                    exclusive(cfg.experiment_dir / f".fold{fold}.lock", f"fold {fold} of {cfg.experiment!r}")
                )
            save_folds(cfg, competition.folds)
            save_config(cfg, cfg.experiment_dir / "config.yaml")
        scores = {}
        for fold in folds:
            score = finished.get(fold)
            if score is not None:
                if main:
                    print(f"fold {fold}: finished before, {cfg.metric} = {score:.4f}; skipped (--force retrains it)")
            else:
                score = run_fold(cfg, competition, fold, resume=resume)
                if main:
                    print(f"fold {fold}: {cfg.metric} = {score:.4f}  ->  {cfg.fold_dir(fold)}/")
            scores[fold] = score
        if not main:
            return {"metric": cfg.metric, "folds": scores, "cv": None}
        if cv_is_current(cfg):
            cv = json.loads((cfg.experiment_dir / "cv.json").read_text())  # nothing new: no second CV run in W&B
        else:
            cv = merge_oof(cfg, competition)
    if cv:
        print_table(cfg, cv)
    return {"metric": cfg.metric, "folds": scores, "cv": cv}
