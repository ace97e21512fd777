"""One fold: build it from fresh weights, train it (or resume it), choose its final weights, and write its
weights, OOF files and scores (run/layout.py names them)."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_only

from ..config import Config, ConfigError, changes_from_shipped, save_config
from ..data.competition import Competition
from ..run import layout
from ..run.errors import DataError, NonFiniteLossError
from ..run.io import write_csv, write_weights
from ..run.provenance import write_provenance
from ..tasks import get_task
from ..training.averaging import (
    averaged_weights,
    checkpoint_weights,
    has_batchnorm,
    recalibrate_batchnorm,
    weights_used,
)
from ..training.loggers import check_loggers, finish_wandb_run, make_loggers
from ..training.module import CompetitionModule
from ..training.trainer import best_checkpoint, check_hardware, make_trainer
from .fold_data import FoldDataModule
from .oof import FoldPredictions, oof_table, suffix
from .pseudo import source_fingerprint
from .state import FoldResult, check_same_config


class FoldRun(NamedTuple):
    """What trains one fold: a fresh network in its module, the fold's data, and the Trainer with its
    checkpoint callback (the best or top-k checkpoints by the validation metric)."""

    module: CompetitionModule
    data: FoldDataModule
    trainer: L.Trainer
    checkpoint: ModelCheckpoint | None  # None in a full-data refit, which validates on no row


def check_can_run(cfg: Config) -> None:
    """Refuse, before anything is written, what this machine or these libraries cannot run."""
    if cfg.experiment.endswith(layout.FLOOR):
        raise ConfigError(
            f"config key 'experiment': {cfg.experiment!r} ends in {layout.FLOOR!r}, which names baseline.py's "
            "scikit-learn floors; pick another name"
        )
    get_task(cfg).check_can_run(cfg)
    check_hardware(cfg)
    check_loggers(cfg)


def is_main_process() -> bool:
    """False in the other processes of a multi-GPU (DDP) run: they train, but only the first one writes files."""
    return rank_zero_only.rank == 0


def build_module_and_data(
    cfg: Config, competition: Competition, fold: int | str
) -> tuple[CompetitionModule, FoldDataModule]:
    """A fresh network in its LightningModule, and the fold's data: nothing is carried over from another fold."""
    L.seed_everything(cfg.seed, workers=True)
    task = get_task(cfg)
    net = task.build_net(cfg, competition.problem)
    return task.make_module(net, cfg, competition.problem), FoldDataModule(cfg, task, competition, fold, net)


def build_fold(
    cfg: Config,
    competition: Competition,
    fold: int | str,
    loggers: list | None = None,
    out: Path | None = None,
    callbacks: Sequence[Callback] = (),
) -> FoldRun:
    """The module, data and Trainer of one fold, writing under `out` (the fold's folder); `callbacks` are
    added to the Trainer's own. The full-data refit (fold layout.FULL) validates on no row."""
    module, data = build_module_and_data(cfg, competition, fold)
    trainer = make_trainer(cfg, module, out or cfg.fold_dir(fold), loggers, callbacks, refit=fold == layout.FULL)
    return FoldRun(module, data, trainer, best_checkpoint(trainer))


def start_fold_dir(cfg: Config, fold: int | str, resume: bool) -> Path | None:
    """The checkpoint to resume from, if asked and there is one; otherwise the fold's folder starts empty,
    with the config it is trained with."""
    out, main = cfg.fold_dir(fold), is_main_process()
    ckpt = layout.resume_checkpoint(out) if resume else None
    if ckpt:
        check_same_config(cfg, fold)
        if main:
            print(f"fold {fold}: resuming from {ckpt}")
    elif main:
        if resume:
            print(f"fold {fold}: no checkpoint in {out} to resume from; training from the start")
        # Old checkpoints would make ModelCheckpoint write best-v1.ckpt beside a stale best.ckpt.
        shutil.rmtree(out, ignore_errors=True)
        save_config(cfg, out / layout.CONFIG)
        write_provenance(out / layout.PROVENANCE, changes_from_shipped(cfg))
    return ckpt


def fit(run: FoldRun, fold: int | str, ckpt: Path | None) -> None:
    out = Path(run.trainer.default_root_dir)
    try:  # weights_only: a checkpoint is a pickle, and nothing in it but tensors and plain values may load
        run.trainer.fit(run.module, datamodule=run.data, ckpt_path=ckpt, weights_only=True)
    except NonFiniteLossError as error:
        last = layout.resume_checkpoint(out)
        kept = f"its last good checkpoint, {last}, is kept" if last else "no epoch had finished to keep"
        raise NonFiniteLossError(
            f"fold {fold} stopped: {error}; {kept}. Lower optim.lr, set trainer.gradient_clip_val or use "
            "trainer.precision 32-true, then train the fold again (--resume retries from the checkpoint)"
        ) from None


def run_fold(
    cfg: Config, competition: Competition, fold: int, resume: bool = False, callbacks: Sequence[Callback] = ()
) -> FoldResult | None:
    """Train one fold (or resume it); write its weights, OOF and scores; return them. In a multi-GPU run
    every process trains and only the first writes; the others return None."""
    ckpt = start_fold_dir(cfg, fold, resume)
    out = cfg.fold_dir(fold)
    loggers = make_loggers(cfg, fold, out, resume=ckpt is not None, main=is_main_process())
    run = build_fold(cfg, competition, fold, loggers, callbacks=callbacks)
    if run.data.pseudo_rows and is_main_process():
        print(
            f"fold {fold}: {run.data.pseudo_rows} of {len(competition.test)} test rows join its training rows, "
            f"labelled by fold {fold} of {cfg.data.pseudo_labels!r} (data.pseudo_threshold {cfg.data.pseudo_threshold})"
        )
    result = None
    try:
        fit(run, fold, ckpt)
        if is_main_process():
            result = write_fold(cfg, competition, fold, run)
    finally:
        finish_wandb_run({f"oof/{cfg.metric}": result.score} if result else None)
    return result


def write_fold(cfg: Config, competition: Competition, fold: int, run: FoldRun) -> FoldResult:
    """The fold's chosen weights (model.safetensors), its OOF files, and last its metrics.json."""
    out, problem = cfg.fold_dir(fold), competition.problem
    if not run.checkpoint.best_model_path:
        raise ConfigError(f"fold {fold} saved no checkpoint: was validation skipped (trainer.limit_val_batches)?")
    predictions, weights = fold_predictions(cfg, *run)
    run.module.load_state_dict(weights)
    metadata = get_task(cfg).net_metadata(cfg, problem)
    write_weights(run.module.net, out / layout.WEIGHTS, metadata)
    targets, scores = problem.encode(run.data.valid_rows), {}
    for variant, preds in predictions.items():
        scores[variant] = value = run.module.metric(targets, preds, problem.kind)
        if not math.isfinite(value):  # JSON has no NaN, and a CV of NaN says nothing
            raise DataError(
                f"fold {fold}: {cfg.metric} of its validation predictions is {value}; the predictions hold "
                f"{int((~np.isfinite(preds)).sum())} non-finite values: lower optim.lr, or check the targets"
            )
        write_csv(oof_table(cfg, problem, run.data.valid_rows, preds), layout.oof(out, suffix(variant)))
    result = FoldResult(
        fold,
        cfg.metric,
        weights_used(cfg.averaging),
        scores[""],
        scores.get("no_tta"),
        scores.get("best"),
        chosen_epochs(cfg, run),
        source_fingerprint(cfg),
    )
    result.write(out / layout.METRICS)
    return result


def chosen_epochs(cfg: Config, run: FoldRun) -> int:
    """The epochs the fold trained to reach the weights it keeps: every epoch it ran for SWA (the average
    of them), else up to its best checkpoint (of the top-k, the best)."""
    if cfg.averaging.weights == "swa":
        return run.trainer.current_epoch  # after fit: the number of epochs run
    # mmap: the epoch is read without loading the optimizer state
    checkpoint = torch.load(run.checkpoint.best_model_path, map_location="cpu", weights_only=True, mmap=True)
    return int(checkpoint["epoch"]) + 1


def fold_predictions(cfg: Config, module, data, trainer, checkpoint) -> tuple[FoldPredictions, dict]:
    """The validation predictions of the chosen weights (with TTA when on), and beside them the same weights
    without TTA and the best single checkpoint's (its BatchNorm statistics recomputed as the average's are)
    when they differ; and the chosen weights, as a state_dict of `module`."""
    device = trainer.strategy.root_device  # Lightning has moved the module back to the CPU after fit

    def predict() -> tuple[np.ndarray, np.ndarray | None]:
        views, task = cfg.tta.views, get_task(cfg)
        loader, problem = data.val_dataloader(), module.problem
        with_tta = task.predict_loader(module.net, loader, problem, views, device)
        plain = task.predict_loader(module.net, loader, problem, ["identity"], device) if cfg.tta.on else None
        return with_tta, plain

    averaged = averaged_weights(cfg.averaging, module, trainer, checkpoint)
    module.load_state_dict(checkpoint_weights(checkpoint.best_model_path))
    if averaged is not None and has_batchnorm(module):
        # Compared with an average, whose BatchNorm statistics are recomputed below, the best checkpoint gets
        # its statistics recomputed the same way: like with like, or the table would credit the average
        # with what the recomputation alone gains.
        recalibrate_batchnorm(module, data.train_dataloader(), device)
    best = FoldPredictions(*predict())
    if averaged is None:
        return best, state(module)
    module.load_state_dict(averaged)
    if has_batchnorm(module):
        recalibrate_batchnorm(module, data.train_dataloader(), device)
    return FoldPredictions(*predict(), best=best.chosen), state(module)


def state(module: torch.nn.Module) -> dict:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def debug_fold(cfg: Config, competition: Competition, fold: int, callbacks: Sequence[Callback] = ()) -> None:
    """fast_dev_run or overfit_batches: train in a temporary folder, without loggers; the experiment is untouched."""
    with tempfile.TemporaryDirectory(prefix="debug-") as tmp:
        run = build_fold(cfg, competition, fold, out=Path(tmp), callbacks=callbacks)
        run.trainer.fit(run.module, datamodule=run.data)
    if is_main_process():
        print(f"fold {fold}: debug run finished (trainer.fast_dev_run / trainer.overfit_batches); nothing was written")
