"""Loggers: a local CSV log always, one W&B run per fold grouped by experiment, and TensorBoard or MLflow
when the config's `loggers` names them.

W&B runs online when credentials exist, offline (sync later with `wandb sync`) when they do not, and not
at all with WANDB_MODE=disabled. Only the config is logged, never the environment, so API keys stay out.
A fold's run keeps the best validation score in its summary, and a resumed fold continues its run.
"""

from __future__ import annotations

import importlib.util
import netrc
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..config import Config, ConfigError
from ..config.metrics import METRICS
from ..run import layout

if TYPE_CHECKING:  # Lightning's loggers are imported where a fold makes them, not by the CV merge
    import pandas as pd
    from lightning.pytorch.loggers import Logger

PACKAGES = {"tensorboard": ("tensorboard", "tensorboardX"), "mlflow": ("mlflow",)}  # either one will do
SWEEP_TRIAL: dict[str, str] = {}  # a W&B sweep agent's trial: its run id and sweep id (outside_sweep_trial)


def has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlsplit(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).netloc
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(cfg: Config) -> str:
    mode = os.environ.get("WANDB_MODE") or cfg.wandb.mode
    if mode in ("dryrun", "offline"):
        return "offline"
    if mode == "disabled":
        return "disabled"
    return "online" if has_wandb_credentials() else "offline"


def check_loggers(cfg: Config) -> None:
    for name in cfg.loggers:
        if not any(importlib.util.find_spec(package) for package in PACKAGES[name]):
            raise ConfigError(
                f"config key 'loggers': {name} is not installed; uv pip install {PACKAGES[name][0]}, "
                f"or take {name} out of loggers"
            )


SWEEP_KEYS = ("WANDB_RUN_ID", "WANDB_SWEEP_ID")


@contextmanager
def outside_sweep_trial() -> Iterator[None]:
    """A fold's W&B run made outside the sweep trial a W&B agent started this process for: with the trial's
    WANDB_RUN_ID in the environment, wandb.init gives every fold's run the trial's id (all folds in one
    run). W&B reads the environment once, at its first run in the process, so the ids are out of it only
    then; they are kept in SWEEP_TRIAL, for the CV, the trial's metric, to go to the trial's run (log_cv),
    and put back for what else reads them (the config's experiment name in DDP's other processes)."""
    SWEEP_TRIAL.update({key: os.environ.pop(key) for key in SWEEP_KEYS if key in os.environ})
    try:
        yield
    finally:
        os.environ.update(SWEEP_TRIAL)


def wandb_run_id(fold_dir: Path, resume: bool, main: bool) -> str:
    """The fold's W&B run id: the one kept in its folder when resuming, else a new one, kept there."""
    path = fold_dir / layout.WANDB_RUN_ID
    if resume and path.is_file():
        return path.read_text().strip()
    run_id = secrets.token_hex(6)  # W&B's ids: lower-case letters and digits
    if main:  # the other processes of a multi-GPU run log nothing
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(run_id + "\n")
    return run_id


def make_loggers(cfg: Config, fold: int | str, fold_dir: Path, resume: bool = False, main: bool = True) -> list[Logger]:
    from lightning.pytorch.loggers import CSVLogger, WandbLogger

    # A new logs/version_<n>/ per attempt: a resumed fold keeps the log of the epochs before the interruption.
    loggers: list[Logger] = [CSVLogger(fold_dir, name=layout.LOGS)]
    if "tensorboard" in cfg.loggers:
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(cfg.experiment_dir / "tensorboard", name=layout.fold_name(fold)))
    if "mlflow" in cfg.loggers:
        from lightning.pytorch.loggers import MLFlowLogger

        uri = (cfg.experiment_dir.parent / "mlruns").resolve().as_uri()  # one local store for every experiment
        loggers.append(MLFlowLogger(experiment_name=cfg.experiment, run_name=layout.fold_name(fold), tracking_uri=uri))
    mode = wandb_mode(cfg)
    if mode != "disabled":
        wandb_logger = WandbLogger(
            project=cfg.wandb.project,
            entity=cfg.wandb.entity,
            group=cfg.experiment,
            job_type="train",
            name=layout.fold_name(fold),
            save_dir=str(cfg.experiment_dir),
            offline=mode == "offline",
            config=cfg.to_dict(),
            id=wandb_run_id(fold_dir, resume, main),
            resume="allow",
        )
        with outside_sweep_trial():
            run = wandb_logger.experiment  # wandb.init
        # The run's summary would keep the last epoch's value: the best epoch's is the one to compare.
        run.define_metric(f"val/{cfg.metric}", summary=METRICS[cfg.metric].mode)
        run.define_metric("val/loss", summary="min")
        loggers.append(wandb_logger)
    return loggers


def offline_sync_hint(cfg: Config) -> str | None:
    """The command that uploads the experiment's offline W&B runs, when W&B runs offline."""
    if wandb_mode(cfg) != "offline":
        return None
    return f"W&B ran offline; to upload its runs: wandb sync {cfg.experiment_dir / 'wandb'}/offline-run-*"


def finish_wandb_run(summary: dict | None = None) -> None:
    """Close the fold's run: WandbLogger reuses an open run, so without this every fold logs into one."""
    import wandb

    if wandb.run is not None:
        if summary:
            wandb.run.summary.update(summary)
        wandb.finish()


def log_cv(cfg: Config, result: dict, plots: list[Path] = (), worst: Callable[[], pd.DataFrame] | None = None) -> None:
    """One more run in the experiment's group, holding the CV score, the per-fold table, the OOF plots and a
    table of the worst OOF rows with their inputs (`worst` makes it): in a sweep, the trial's own run, whose
    `cv/<metric>` the sweep optimizes."""
    mode = wandb_mode(cfg)
    if mode == "disabled":
        return
    import wandb

    trial = {key: SWEEP_TRIAL.get(key) or os.environ.get(key) for key in SWEEP_KEYS}
    in_sweep = trial["WANDB_SWEEP_ID"] is not None  # the agent's project and entity, not the config's
    with wandb.init(
        id=trial["WANDB_RUN_ID"],
        settings=wandb.Settings(sweep_id=trial["WANDB_SWEEP_ID"]) if in_sweep else None,
        project=os.environ.get("WANDB_PROJECT", cfg.wandb.project) if in_sweep else cfg.wandb.project,
        entity=os.environ.get("WANDB_ENTITY", cfg.wandb.entity) if in_sweep else cfg.wandb.entity,
        group=cfg.experiment,
        job_type="cv",
        name="cv",
        dir=str(cfg.experiment_dir),
        mode=mode,
        config=cfg.to_dict(),
    ) as run:
        run.summary.update(
            {
                f"cv/{cfg.metric}": result["cv"],
                f"cv/{cfg.metric}_mean": result["mean"],
                f"cv/{cfg.metric}_std": result["std"],
                **({f"cv/{cfg.metric}_no_tta": result["cv_no_tta"]} if "cv_no_tta" in result else {}),
            }
        )
        table = wandb.Table(columns=["fold", cfg.metric], data=[[k, s] for k, s in enumerate(result["folds"])])
        run.log({"cv/folds": table, **{f"cv/{path.stem}": wandb.Image(str(path)) for path in plots}})
        if worst is not None:
            try:
                rows = worst()
            except Exception as error:
                print(f"W&B: no table of the worst OOF rows ({type(error).__name__}: {error})")
                return
            run.log({"cv/worst_oof": wandb.Table(columns=list(rows.columns), data=rows.to_numpy().tolist())})
