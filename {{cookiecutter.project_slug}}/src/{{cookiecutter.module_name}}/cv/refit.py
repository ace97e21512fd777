"""The full-data refit, `train.py --fold full`: once every fold is finished, one more run of the experiment's
config on every training row, for the epochs the CV chose: the upper median over the folds of the epochs each
trained to reach the weights it kept. Its schedule is fitted to those epochs (trainer.max_epochs set to them),
so its learning rate anneals by its last epoch, where a fold's kept weights often came before its own schedule
ended. It validates on no row: it has no OOF and no score, and keeps its last epoch's weights (EMA's or SWA's
where on). predict.py uses it with `predict_with: full` or `both`."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace

from lightning.pytorch.callbacks import Callback

from ..config import Config
from ..data.competition import Competition
from ..run import layout
from ..run.errors import UserError
from ..run.io import write_json, write_weights
from ..tasks import get_task
from ..training.averaging import averaged_weights, has_batchnorm, recalibrate_batchnorm, weights_used
from ..training.loggers import finish_wandb_run, make_loggers
from .fold import FoldRun, build_fold, fit, is_main_process, start_fold_dir
from .lock import exclusive
from .state import FoldResult, check_same_config, refit_is_current


def refit_epochs(cfg: Config) -> tuple[int, list[int]]:
    """The refit's epochs, and each fold's, from the finished folds' metrics.json; refused before they finish."""
    results = [FoldResult.read(cfg.fold_dir(k) / layout.METRICS) for k in range(cfg.cv.n_folds)]
    missing = [str(k) for k, result in enumerate(results) if result is None]
    if missing:
        raise UserError(
            f"--fold full trains for the epochs the CV chose: fold {', '.join(missing)} of {cfg.experiment!r} is "
            "not finished; run python train.py --fold all first"
        )
    for fold in range(cfg.cv.n_folds):  # the refit is of the experiment its folds are
        check_same_config(cfg, fold, "retrain its folds with --fold all --force")
    unknown = [str(result.fold) for result in results if result.epochs is None]
    if unknown:
        raise UserError(
            f"fold {', '.join(unknown)} of {cfg.experiment!r} did not record its epochs (trained by an older "
            "version): retrain the folds with --fold all --force before --fold full"
        )
    epochs = [result.epochs for result in results]
    # The upper median: an epoch at which a fold kept its weights. The mean of the two middle ones could fall
    # where none did (folds best at 5, 5, 15 and 15 epochs: 10, mid-way through a cycle of the cycles schedule).
    return statistics.median_high(epochs), epochs


def refit_weights(cfg: Config) -> str:
    """Which weights the refit keeps, in words for refit.json."""
    if cfg.averaging.weights == "swa":
        return weights_used(cfg.averaging)
    return "the last epoch's EMA weights" if cfg.averaging.ema else "the last epoch's weights"


def refit(
    cfg: Config, competition: Competition, force: bool, resume: bool, callbacks: Sequence[Callback] = ()
) -> dict | None:
    """Train the refit unless it finished before (or `force`); return its refit.json (None in DDP's other
    processes)."""
    epochs, of_folds = refit_epochs(cfg)
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=epochs))  # the schedule, fitted to them
    out, main = cfg.fold_dir(layout.FULL), is_main_process()
    if (out / layout.REFIT).exists() and not force:
        if refit_is_current(cfg):
            check_same_config(cfg, layout.FULL, "retrain it with --fold full --force")
            info = json.loads((out / layout.REFIT).read_text())
            if main:
                print(f"full: finished before, {info['epochs']} epochs on {info['rows']} rows; skipped (--force)")
            return info
        if main:
            print("full: its folds were trained again since it finished; training it again")
        resume = False  # its last.ckpt is of the refit before
    info = None
    with ExitStack() as lock:
        if main:
            lock.enter_context(exclusive(layout.fold_lock(cfg.experiment_dir, layout.FULL), f"{out}"))
        ckpt = start_fold_dir(cfg, layout.FULL, resume)
        loggers = make_loggers(cfg, layout.FULL, out, resume=ckpt is not None, main=main)
        run = build_fold(cfg, competition, layout.FULL, loggers, callbacks=callbacks)
        try:
            fit(run, layout.FULL, ckpt)
            if main:
                info = write_refit(cfg, competition, run, epochs, of_folds)
        finally:
            finish_wandb_run(None)
    if main:
        print(
            f"full: {info['epochs']} epochs (the upper median of the folds' {of_folds}) on all {info['rows']} training "
            f"rows, {info['weights']}  ->  {out}/"
        )
    return info


def write_refit(cfg: Config, competition: Competition, run: FoldRun, epochs: int, of_folds: list[int]) -> dict:
    """The refit's weights (model.safetensors), then refit.json, which marks it as finished."""
    out = cfg.fold_dir(layout.FULL)
    if cfg.averaging.weights == "swa":
        averaged_weights(cfg.averaging, run.module, run.trainer, None)  # refuses an SWA that never updated
        if has_batchnorm(run.module):
            recalibrate_batchnorm(run.module, run.data.train_dataloader(), run.trainer.strategy.root_device)
    metadata = get_task(cfg).net_metadata(cfg, competition.problem)
    write_weights(run.module.net, out / layout.WEIGHTS, metadata)
    info = {
        "epochs": epochs,
        "folds_epochs": of_folds,
        "rows": len(run.data.train_rows),
        "weights": refit_weights(cfg),
        "trained_epochs": run.trainer.current_epoch,
    }
    write_json(info, out / layout.REFIT)
    return info
