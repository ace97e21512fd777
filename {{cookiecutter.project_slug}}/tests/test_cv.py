import json
import os
from dataclasses import replace
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from conftest import TINY, make_cfg
from safetensors.torch import load_file

from {{ cookiecutter.module_name }}.config.metrics import METRICS
from {{ cookiecutter.module_name }}.cv.fold import build_fold, run_fold
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import folds_path, load_competition


@pytest.fixture(scope="module")
def trained(digits_dir, tmp_path_factory):
    """A 3-fold experiment trained once for the tests of this module."""
    cfg = make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), n_folds=3, **TINY)
    return cfg, train(cfg, folds=[0, 1, 2])


def test_oof_covers_every_training_row_once_with_its_fold(trained):
    cfg, _ = trained
    oof = pd.read_csv(cfg.experiment_dir / "oof.csv")
    train_rows = pd.read_csv(f"{cfg.data.dir}/train.csv")
    assert len(oof) == len(train_rows) and oof["id"].is_unique and set(oof["id"]) == set(train_rows["id"])
    assigned = pd.read_csv(folds_path(cfg)).set_index("id")["fold"]
    assert (oof.set_index("id")["fold"] == assigned.loc[oof["id"]]).all()


def test_cv_json_scores_equal_the_metric_recomputed_from_oof(trained):
    cfg, result = trained
    saved = json.loads((cfg.experiment_dir / "cv.json").read_text())
    oof = pd.read_csv(cfg.experiment_dir / "oof.csv")
    accuracy = METRICS["accuracy"]
    score = lambda rows: accuracy(rows["label"].to_numpy(), rows.filter(like="prob_").to_numpy(), "multiclass")  # noqa: E731
    assert saved["metric"] == "accuracy" and saved["n_rows"] == len(oof)
    assert saved["cv"] == pytest.approx(score(oof))
    assert saved["folds"] == pytest.approx([score(oof[oof.fold == k]) for k in range(3)])
    assert saved["mean"] == pytest.approx(sum(saved["folds"]) / 3)
    assert result["cv"] == saved and result["folds"] == dict(enumerate(saved["folds"]))


def test_each_fold_has_its_own_weights(trained):
    cfg, _ = trained
    heads = [load_file(cfg.fold_dir(k) / "model.safetensors")["head.weight"] for k in range(3)]
    assert not torch.equal(heads[0], heads[1]) and not torch.equal(heads[1], heads[2])


def test_finished_folds_are_skipped_and_force_retrains(trained, capsys):
    cfg, result = trained
    stamps = [(cfg.fold_dir(k) / "metrics.json").stat().st_mtime_ns for k in range(3)]
    again = train(cfg, folds=[0, 1, 2])
    assert [(cfg.fold_dir(k) / "metrics.json").stat().st_mtime_ns for k in range(3)] == stamps
    assert again["folds"] == result["folds"] and "skipped" in capsys.readouterr().out
    train(cfg, folds=[2], force=True)
    assert (cfg.fold_dir(2) / "metrics.json").stat().st_mtime_ns != stamps[2]


def test_a_finished_fold_from_another_config_is_not_mixed_in(trained):
    cfg, _ = trained
    with pytest.raises(ValueError, match=r"optim\.lr: 0\.003 -> 0\.01.*--experiment NAME.*--force"):
        train(replace(cfg, optim=replace(cfg.optim, lr=0.01)), folds=[0])


def test_each_fold_starts_from_fresh_weights(tiny):
    competition = load_competition(tiny)
    first, *_ = build_fold(tiny, competition, 0)
    initial = {k: v.clone() for k, v in first.net.state_dict().items()}
    run_fold(tiny, competition, 0)
    second, *_ = build_fold(tiny, competition, 1)
    assert all(torch.equal(initial[k], v) for k, v in second.net.state_dict().items())
    trained_head = load_file(tiny.fold_dir(0) / "model.safetensors")["head.weight"]
    assert not torch.equal(trained_head, second.net.state_dict()["head.weight"])


class EpochStarts(L.Callback):
    """The epochs a fold starts; with `crash_at`, a crash at the start of that epoch."""

    def __init__(self, crash_at: int | None = None):
        self.seen, self.crash_at = [], crash_at

    def on_train_epoch_start(self, trainer, pl_module):
        self.seen.append(pl_module.current_epoch)
        if pl_module.current_epoch == self.crash_at:
            raise RuntimeError("simulated crash")


def test_an_interrupted_fold_resumes_from_its_last_checkpoint(tiny):
    cfg = replace(tiny, trainer=replace(tiny.trainer, max_epochs=2))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg, folds=[0], callbacks=[EpochStarts(crash_at=1)])
    checkpoints = cfg.fold_dir(0) / "checkpoints"
    # Epoch 0 wrote best.ckpt, and last.ckpt shares its bytes: the resume below starts from that link.
    assert os.path.samefile(checkpoints / "last.ckpt", checkpoints / "best.ckpt")
    assert not (cfg.fold_dir(0) / "metrics.json").exists()

    epochs = EpochStarts()
    result = train(cfg, folds=[0], resume=True, callbacks=[epochs])
    assert epochs.seen == [1]  # epoch 0 came from last.ckpt
    logs = sorted((cfg.fold_dir(0) / "logs").glob("version_*/metrics.csv"))
    assert len(logs) == 2  # the interrupted attempt's log is kept beside the resumed one
    assert (cfg.fold_dir(0) / "metrics.json").is_file() and result["folds"][0] >= 0


def test_a_resumed_fold_continues_its_wandb_run_and_keeps_the_best_score(tiny, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = replace(tiny, trainer=replace(tiny.trainer, max_epochs=2))
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(cfg, folds=[0], callbacks=[EpochStarts(crash_at=1)])
    run_id = (cfg.fold_dir(0) / "wandb_run_id").read_text().strip()
    train(cfg, folds=[0], resume=True)
    runs = sorted((cfg.experiment_dir / "wandb").glob("offline-run-*"))
    assert [run.name.rsplit("-", 1)[1] for run in runs] == [run_id, run_id]  # one W&B run, two attempts
    assert f"wandb sync {cfg.experiment_dir / 'wandb'}/offline-run-*" in capsys.readouterr().out
    # The summary keeps the best validation accuracy, not the last epoch's.
    defined = [record.metric for record in wandb_records(runs[1]) if record.HasField("metric")]
    assert any(metric.name == "val/accuracy" and metric.summary.max for metric in defined)

    train(cfg, folds=[0], force=True)  # trained anew: a new run
    assert (cfg.fold_dir(0) / "wandb_run_id").read_text().strip() != run_id


def wandb_records(run_dir):
    """The records of an offline W&B run, as `wandb sync` would upload them. The .wandb file is W&B's 7-byte
    header, then a LevelDB log: 32 KiB blocks of chunks, each with a 7-byte header (checksum, length, type)."""
    from wandb.proto import wandb_internal_pb2

    data = next(run_dir.glob("*.wandb")).read_bytes()
    assert data[:4] == b":W&B"
    position, pending, records = 7, b"", []
    while position + 7 <= len(data):
        if (left := 32768 - position % 32768) < 7:  # a block's tail too short for a header is padding
            position += left
            continue
        length, kind = int.from_bytes(data[position + 4 : position + 6], "little"), data[position + 6]
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or a record's last chunk
            records.append(wandb_internal_pb2.Record.FromString(pending))
            pending = b""
    return records


def test_wandb_offline_writes_one_run_per_fold_and_one_for_the_cv(digits_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg(digits_dir, tmp_path / "outputs", n_folds=2, **TINY)
    train(cfg, folds=[0, 1])
    train(cfg, folds=[0, 1])  # finished: nothing trained, nothing logged again
    runs = sorted((cfg.experiment_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 3
    names = [b"fold0", b"fold1", b"cv"]
    contents = [next(run.glob("*.wandb")).read_bytes() for run in runs]
    assert all(any(name in content for content in contents) for name in names)
    assert all(cfg.experiment.encode() in content for content in contents)  # the group
    images = {path.name.split("_")[0] for path in cfg.experiment_dir.glob("wandb/*/files/media/images/cv/*.png")}
    assert {"confusion", "fold"} <= images  # the OOF plots, in the cv run
    # The worst OOF rows, worst first, each with its image, for error analysis
    [table] = [table for run in runs if (table := logged_table(run, "worst_oof"))]  # in the cv run alone
    assert table["columns"] == ["id", "fold", "label", *[f"prob_{k}" for k in range(10)], "error", "input"]
    errors = [row[-2] for row in table["data"]]
    oof = pd.read_csv(cfg.experiment_dir / "oof.csv")
    truth = oof.filter(like="prob_").to_numpy()[range(len(oof)), oof.label]
    assert len(errors) == 32 and errors == sorted(errors, reverse=True) and errors[0] == pytest.approx(1 - truth.min())
    assert all(row[-1]["_type"] == "image-file" for row in table["data"])


def logged_table(run_dir, key):
    """A table an offline run logged, as W&B staged it to upload with its images (an artifact of the run)."""
    for record in wandb_records(run_dir):
        if record.HasField("artifact") and f"-cv{key}-" in record.artifact.name:  # run-<id>-cv<key>-<suffix>
            entry = next(e for e in record.artifact.manifest.contents if e.path.endswith(".table.json"))
            return json.loads(Path(entry.local_path).read_text())
    return None


def test_a_sweep_trial_trains_each_fold_in_its_own_run_and_reports_the_cv_to_the_trial(tiny, monkeypatch):
    import wandb

    from {{ cookiecutter.module_name }}.training import loggers as tracking

    wandb.teardown()  # W&B reads the environment at its first run in a process: this test's is the first
    monkeypatch.setattr(tracking, "SWEEP_TRIAL", {})
    for name, value in (("WANDB_MODE", "offline"), ("WANDB_SWEEP_ID", "sweep1"), ("WANDB_RUN_ID", "trial1")):
        monkeypatch.setenv(name, value)  # as a W&B agent starts a trial
    cfg = replace(tiny, cv=replace(tiny.cv, n_folds=2))
    cv = train(cfg, folds=[0, 1])["cv"]
    runs = {}
    for folder in (cfg.experiment_dir / "wandb").glob("offline-run-*"):
        records = wandb_records(folder)
        run = next(record.run for record in records if record.HasField("run"))
        summary = {
            item.key: item.value_json
            for record in records
            if record.HasField("summary")
            for item in record.summary.update
        }
        runs[run.run_id] = (run.sweep_id, summary)
    trial = runs.pop("trial1")
    assert trial[0] == "sweep1" and json.loads(trial[1]["cv/accuracy"]) == pytest.approx(cv["cv"])
    assert len(runs) == 2 and all(sweep == "" for sweep, _ in runs.values())  # the folds: not trials of the sweep
    assert os.environ["WANDB_RUN_ID"] == "trial1"  # put back: DDP's other processes read the experiment's name
    wandb.teardown()


def test_metric_direction_sets_the_checkpoint_mode(tiny):
    competition = load_competition(tiny)
    *_, checkpoint = build_fold(replace(tiny, metric="log_loss"), competition, 0)
    assert (checkpoint.monitor, checkpoint.mode) == ("val/log_loss", "min")
    *_, checkpoint = build_fold(tiny, competition, 0)
    assert (checkpoint.monitor, checkpoint.mode) == ("val/accuracy", "max")


def test_a_fold_is_repeatable_with_the_same_seed(digits_dir, tmp_path):
    """Same seed, same config: the same OOF predictions (augmentations included) on CPU."""
    runs = [make_cfg(digits_dir, tmp_path / name, n_folds=3, **TINY) for name in ("a", "b")]
    for cfg in runs:
        train(cfg, folds=[0])
    first, second = (pd.read_csv(cfg.fold_dir(0) / "oof.csv") for cfg in runs)
    pd.testing.assert_frame_equal(first, second)


def test_cv_json_holds_the_scores_with_and_without_tta(digits_dir, tmp_path):
    base = make_cfg(digits_dir, tmp_path, n_folds=2, **TINY)
    cfg = replace(base, tta=replace(base.tta, views=["identity", "hflip"]))
    train(cfg, folds=[0, 1])
    saved = json.loads((cfg.experiment_dir / "cv.json").read_text())
    accuracy = METRICS["accuracy"]
    for name, key in (("oof.csv", "cv"), ("oof_no_tta.csv", "cv_no_tta")):
        rows = pd.concat([pd.read_csv(cfg.fold_dir(k) / name) for k in range(2)])
        assert saved[key] == pytest.approx(
            accuracy(rows["label"].to_numpy(), rows.filter(like="prob_").to_numpy(), "multiclass")
        )
    fold_records = [json.loads((cfg.fold_dir(k) / "metrics.json").read_text()) for k in range(2)]
    assert saved["folds_no_tta"] == [record["score_no_tta"] for record in fold_records]
    assert saved["tta"] == ["identity", "hflip"]
