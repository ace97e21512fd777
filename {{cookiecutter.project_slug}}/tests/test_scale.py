"""Scale-out: a fold trained by two DDP processes on CPU (gloo), folds run in parallel, the sweep config."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import PROJECT, TINY, make_cfg
from omegaconf import OmegaConf

from {{ cookiecutter.module_name }}.config import load_config
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import folds_path

SHORT = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "4", "--trainer.num_sanity_val_steps", "0"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def run(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=PROJECT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_a_two_process_ddp_fold_writes_the_same_oof_rows_as_one_process(digits_dir, tmp_path):
    single = make_cfg(digits_dir, tmp_path / "single", n_folds=3, **TINY)
    train(single, folds=[0])
    data = ["--data.dir", str(digits_dir), "--cv.n_folds", "3", *SHORT, *QUIET]
    ddp = ["--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    done = run(["train.py", "--fold", "0", "--output_dir", str(tmp_path / "ddp"), *data, *ddp])
    assert done.stdout.count("fold 0: accuracy = ") == 1  # one process reports and writes

    fold0 = tmp_path / "ddp" / "vision_baseline" / "fold0"
    oof, reference = pd.read_csv(fold0 / "oof.csv"), pd.read_csv(single.fold_dir(0) / "oof.csv")
    assigned = pd.read_csv(folds_path(single))
    assert oof["id"].is_unique and len(oof) == (assigned.fold == 0).sum()
    assert sorted(oof["id"]) == sorted(reference["id"]) == sorted(assigned.loc[assigned.fold == 0, "id"])
    # The validation metric that chose the checkpoint was computed on every row of the fold, gathered from
    # both processes: the one epoch's logged score equals the score of the OOF written from that checkpoint.
    logged = pd.read_csv(next(fold0.glob("logs/version_*/metrics.csv")))["val/accuracy"].dropna()
    score = json.loads((fold0 / "metrics.json").read_text())["score"]
    assert len(logged) == 1 and logged.iloc[0] == pytest.approx(score, abs=1e-6)


@pytest.mark.slow
def test_folds_run_in_parallel_then_merge_into_one_cv(digits_dir, tmp_path):
    out = tmp_path / "outputs"
    args = ["--data.dir", str(digits_dir), "--output_dir", str(out), "--cv.n_folds", "2", *SHORT, *QUIET]
    done = run(["scripts/parallel_folds.py", "--devices", "cpu,cpu", "--", *args])
    experiment = out / "vision_baseline"
    assert sorted(p.name for p in experiment.glob("logs/fold*.log")) == ["fold0.log", "fold1.log"]
    cv = json.loads((experiment / "cv.json").read_text())
    assert len(cv["folds"]) == 2 and f"{cv['cv']:.4f}" in done.stdout
    assert len(pd.read_csv(experiment / "oof.csv")) == len(pd.read_csv(digits_dir / "train.csv"))


def test_the_sweep_scores_each_trial_by_its_cv_in_its_own_experiment(monkeypatch):
    sweep = yaml.safe_load((PROJECT / "configs" / "sweep.yaml").read_text())
    command = sweep["command"]
    config = PROJECT / command[command.index("--config") + 1]
    fixed = [arg for arg in command if arg.startswith("--experiment=")]
    monkeypatch.setenv("WANDB_RUN_ID", "abc123")  # what the W&B agent sets for each trial
    cfg = load_config(config, fixed)
    assert cfg.experiment == "sweep-abc123" and sweep["metric"]["name"] == f"cv/{cfg.metric}"  # log_cv's summary
    assert command[command.index("--fold") + 1] == "all" and sweep["project"] == cfg.wandb.project
    assert sweep["program"] == "train.py" and command[-1] == "${args}"
    for key, spec in sweep["parameters"].items():  # W&B passes each as --key=value
        for value in spec.get("values") or [spec["min"], spec["max"]]:
            assert OmegaConf.select(OmegaConf.structured(load_config(config, [f"--{key}={value}"])), key) == value
