import json
import os
import subprocess
import sys
from dataclasses import replace

import pandas as pd
from conftest import PROJECT

from {{ cookiecutter.module_name }}.config.metrics import get_metric
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import folds_path


def test_fold_trains_and_writes_its_oof_and_score(cfg):
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=3))
    result = train(cfg, folds=[0])
    assert result["cv"] is None  # one fold of five: no CV yet
    fold_dir = cfg.experiment_dir / "fold0"

    score = result["folds"][0]
    assert score >= 0.8, f"fold 0 accuracy {score:.3f} after 3 epochs on digits (chance is 0.1)"

    oof = pd.read_csv(fold_dir / "oof.csv")
    folds = pd.read_csv(folds_path(cfg))
    assert sorted(oof["id"]) == sorted(folds.loc[folds.fold == 0, "id"])  # each validation row, once
    assert (oof["fold"] == 0).all()
    probs = oof.filter(like="prob_").to_numpy()
    assert abs(probs.sum(axis=1) - 1).max() < 1e-4
    assert get_metric("accuracy")(oof["label"].to_numpy(), probs, "multiclass") == score  # the OOF's score

    assert json.loads((fold_dir / "metrics.json").read_text())["score"] == score
    for written in ("checkpoints/best.ckpt", "logs/version_0/metrics.csv", "model.safetensors"):
        assert (fold_dir / written).is_file(), written
    assert (cfg.experiment_dir / "config.yaml").is_file()


def test_train_script_runs_a_fold_from_the_command_line(digits_dir, tmp_path):
    command = [
        sys.executable,
        str(PROJECT / "train.py"),
        "--config",
        str(PROJECT / "configs" / "vision.yaml"),
        "--fold",
        "1",
        "--data.dir",
        str(digits_dir),
        "--output_dir",
        str(tmp_path),
        "--trainer.max_epochs",
        "1",
        "--trainer.limit_train_batches",
        "3",
        "--trainer.enable_progress_bar",
        "false",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=os.environ)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fold 1: accuracy = " in done.stdout
    assert (tmp_path / "vision_baseline" / "fold1" / "oof.csv").is_file()


def test_train_script_refuses_a_bad_flag_naming_it(tmp_path):
    command = [sys.executable, str(PROJECT / "train.py"), "--trainer.max_epoch", "1"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, env=os.environ)
    assert done.returncode == 2
    assert "'trainer.max_epoch'" in done.stderr
