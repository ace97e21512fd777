"""The fold runner: `train(cfg, folds)` trains each fold from fresh weights and writes its OOF and score.

Layout under outputs/<experiment>/:
    config.yaml          the resolved config of the last run
    fold<k>/checkpoints/ best.ckpt, chosen on the validation metric, and last.ckpt, the latest epoch
    fold<k>/oof.csv      that fold's validation predictions from best.ckpt, one row per validation row
    fold<k>/metrics.json the fold's score on its OOF
    fold<k>/logs/        the CSV log
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from .atomic import write_csv, write_json
from .config import Config, save_config
from .data.competition import Competition, load_competition
from .data.datamodule import FoldDataModule
from .models.vision import ImageModel
from .module import CompetitionModule
from .tracking import finish_wandb_run, make_loggers


def fold_dir(cfg: Config, fold: int) -> Path:
    return cfg.experiment_dir / f"fold{fold}"


def oof_table(cfg: Config, competition: Competition, rows: pd.DataFrame, probs: torch.Tensor) -> pd.DataFrame:
    id_col, target_col = cfg.data.id_col, cfg.data.target_col
    table = rows[[id_col, "fold", target_col]].reset_index(drop=True)
    prob_columns = pd.DataFrame(probs.numpy(), columns=[f"prob_{c}" for c in competition.classes])
    table["pred"] = [competition.classes[i] for i in probs.argmax(dim=1).tolist()]
    return pd.concat([table, prob_columns], axis=1)


def run_fold(cfg: Config, competition: Competition, fold: int) -> dict:
    """Train one fold from fresh weights in a fresh Trainer; return its score."""
    out = fold_dir(cfg, fold)
    # A previous attempt's checkpoints would make ModelCheckpoint write best-v1.ckpt beside the old best.
    shutil.rmtree(out, ignore_errors=True)
    L.seed_everything(cfg.seed, workers=True)
    net = ImageModel(cfg.model, num_outputs=len(competition.classes))
    module = CompetitionModule(net, cfg)
    data = FoldDataModule(cfg, competition, fold, *net.mean_std)
    checkpoint = ModelCheckpoint(
        dirpath=out / "checkpoints", filename="best", monitor=module.monitor, mode=module.metric.mode, save_last=True
    )
    trainer = L.Trainer(
        **asdict(cfg.trainer), callbacks=[checkpoint], logger=make_loggers(cfg, fold, out), default_root_dir=out
    )
    result = {}
    try:
        trainer.fit(module, datamodule=data)
        if not checkpoint.best_model_path:
            raise RuntimeError(f"fold {fold} saved no checkpoint: was validation skipped (trainer.limit_val_batches)?")
        batches = trainer.predict(module, dataloaders=data.val_dataloader(), ckpt_path=checkpoint.best_model_path)
        probs = torch.cat(batches)
        oof = oof_table(cfg, competition, data.valid_rows, probs)
        score = module.metric(competition.targets(data.valid_rows, cfg), probs.numpy())
        checkpoint_name = Path(checkpoint.best_model_path).name
        result = {"fold": fold, "metric": cfg.metric, "score": score, "checkpoint": checkpoint_name}
        write_csv(oof, out / "oof.csv")
        write_json(result, out / "metrics.json")
    finally:
        finish_wandb_run({f"oof/{cfg.metric}": result["score"]} if result else None)
    return result


def train(cfg: Config, folds: Sequence[int]) -> dict:
    """Train the given folds; return {"metric": name, "folds": {fold: score}}."""
    competition = load_competition(cfg)
    save_config(cfg, cfg.experiment_dir / "config.yaml")
    scores = {}
    for fold in folds:
        result = run_fold(cfg, competition, fold)
        scores[fold] = result["score"]
        print(f"fold {fold}: {cfg.metric} = {result['score']:.4f}  ->  {fold_dir(cfg, fold)}/")
    return {"metric": cfg.metric, "folds": scores}
