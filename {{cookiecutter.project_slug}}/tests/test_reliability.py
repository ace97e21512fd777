"""The usual mistakes of docs/troubleshooting.md's table: each gets its message, and no work is lost."""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from conftest import PROJECT, TINY, make_cfg
from safetensors.torch import load_file, save_file

from {{ cookiecutter.module_name }}.config import ConfigError, load_config, save_config
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.data.problem import Problem
from {{ cookiecutter.module_name }}.run.errors import DataError, NonFiniteLossError
from {{ cookiecutter.module_name }}.run.io import write_atomic, write_csv
from {{ cookiecutter.module_name }}.submission.predict import load_fold_model, predict
from {{ cookiecutter.module_name }}.training.averaging import checkpoint_weights
from {{ cookiecutter.module_name }}.training.checkpoints import AtomicCheckpointIO


def test_each_row_of_the_troubleshooting_table_names_its_test():
    section = (PROJECT / "docs" / "troubleshooting.md").read_text()
    removable = (PROJECT / "README.md").read_text().split("## Removing what you do not need")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]  # below the header and its rule
    assert len(rows) >= 20
    for row in rows:
        mistake, message, test = (cell.strip() for cell in row.strip("| ").split(" | "))
        file, name = test.strip("`").split("::")
        assert message.count("`") >= 2, f"{mistake}: the table should quote what the user sees"
        if not (PROJECT / "tests" / file).exists() and f"tests/{file}" in removable:
            continue  # its part was removed, as the README says how
        assert f"def {name}(" in (PROJECT / "tests" / file).read_text(), f"{mistake}: no test {test}"


def broken_copy(digits_dir: Path, tmp_path: Path, images: bool = False) -> Path:
    """A copy of the digits competition to break: its tables, and its image folders linked (or copied)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        shutil.copy(digits_dir / name, folder / name)
    for name in ("train", "test"):
        if images:
            shutil.copytree(digits_dir / name, folder / name)
        else:
            (folder / name).symlink_to(digits_dir / name)
    return folder


def on(cfg, folder: Path, **data):
    return replace(cfg, data=replace(cfg.data, dir=str(folder), **data))


def refused_before_training(cfg, error, match: str) -> None:
    """`train` refuses `cfg` with `error` matching `match`, having written nothing."""
    with pytest.raises(error, match=match):
        train(cfg, folds=[0])
    assert not cfg.experiment_dir.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dir": "nowhere"}, r"config key 'data.dir': nowhere \(from the working folder .*\) does not exist"),
        (
            {"test_csv": "tests.csv"},
            r"config key 'data.test_csv': .*tests\.csv does not exist \(its folder: .*test\.csv",
        ),
    ],
)
def test_a_missing_file_is_named_with_its_config_key(cfg, data, message):
    refused_before_training(replace(cfg, data=replace(cfg.data, **data)), DataError, message)


def test_an_id_column_that_is_not_unique_is_refused_naming_a_repeat(cfg, digits_dir, tmp_path):
    folder = broken_copy(digits_dir, tmp_path)
    train_rows = pd.read_csv(folder / "train.csv")
    pd.concat([train_rows, train_rows.iloc[[7]]]).to_csv(folder / "train.csv", index=False)
    message = rf"train.csv: id column 'id' is not unique \('{train_rows.id[7]}' repeats\)"
    refused_before_training(on(cfg, folder), DataError, message)


def test_an_empty_test_set_is_refused(cfg, digits_dir, tmp_path):
    folder = broken_copy(digits_dir, tmp_path)
    pd.read_csv(folder / "test.csv").head(0).to_csv(folder / "test.csv", index=False)
    refused_before_training(on(cfg, folder), DataError, r"test.csv has no rows")


def break_label(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(label=["cat"] + [0] * (len(table) - 1))


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("sample_submission.csv", break_label, r"sample_submission.csv column 'label' holds 'cat', a label train.csv"),
        (
            "test.csv",
            break_label,
            r"test.csv column 'label' holds 'cat', a label train.csv never has \(its labels: '0', '1'",
        ),
        (
            "sample_submission.csv",
            lambda t: t.rename(columns={"label": "Label"}),
            r"has columns \['id', 'Label'\], but this config writes 'id' and its target columns \['label'\] or one",
        ),
        (
            "sample_submission.csv",
            lambda t: t.assign(id="x" + t.id),
            r"297 ids of sample_submission.csv are not in test",
        ),
    ],
)
def test_test_or_sample_submission_unlike_train_is_refused(cfg, digits_dir, tmp_path, name, edit, message):
    folder = broken_copy(digits_dir, tmp_path)
    edit(pd.read_csv(folder / name)).to_csv(folder / name, index=False)
    refused_before_training(on(cfg, folder), DataError, message)


def test_a_missing_image_is_refused_before_training_naming_the_file_and_row(cfg, digits_dir, tmp_path):
    folder = broken_copy(digits_dir, tmp_path)
    train_rows = pd.read_csv(folder / "train.csv")
    train_rows.loc[3, "id"] = "ghost"
    train_rows.to_csv(folder / "train.csv", index=False)
    message = (
        r"1 of 1500 rows of train.csv have no usable input \(first: row id 'ghost', .*train/ghost.png does not exist"
    )
    refused_before_training(on(cfg, folder), DataError, message)
    refused_before_training(
        on(cfg, digits_dir, train_image="train/{image_id}.png"),
        DataError,
        r"config key 'data.train_image': 'train/\{image_id\}.png' cannot be filled from the train table's columns",
    )


def test_skip_bad_rows_leaves_out_bad_training_rows_and_predicts_every_test_row(cfg, digits_dir, tmp_path, capsys):
    folder = broken_copy(digits_dir, tmp_path, images=True)
    train_rows, test_rows = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")
    (folder / "train" / f"{train_rows.id[0]}.png").write_bytes(b"not a png")  # corrupt
    (folder / "train" / f"{train_rows.id[1]}.png").unlink()  # missing
    (folder / "test" / f"{test_rows.id[0]}.png").write_bytes(b"")
    cfg = make_cfg(folder, tmp_path / "outputs", n_folds=2, **TINY)
    with pytest.raises(DataError, match=rf"1 of 1500 rows of train.csv .*{train_rows.id[1]}.png does not exist"):
        train(cfg, folds=[0, 1])  # without the option, the missing image is refused up front
    skipping = on(cfg, folder, skip_bad_rows=True)
    result = train(skipping, folds=[0, 1])
    out = capsys.readouterr().out
    assert "left out 2 of 1500 rows of train.csv" in out
    assert "1 of 297 rows of test.csv are predicted from a blank input" in out
    assert result["cv"]["n_rows"] == 1498
    assert set(pd.read_csv(skipping.experiment_dir / "oof.csv").id) == set(train_rows.id[2:])
    submission = pd.read_csv(predict(skipping))
    assert submission.id.tolist() == test_rows.id.tolist()  # every test row, the blank one too


class NaNWeights(L.Callback):
    """Weights turned NaN before batch 2 of epoch 1, so that batch's loss is NaN."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.current_epoch == 1 and batch_idx == 2:
            with torch.no_grad():
                pl_module.net.head.weight.fill_(float("nan"))


def test_a_nan_loss_stops_the_fold_and_keeps_the_last_good_checkpoint(tiny):
    cfg = replace(tiny, trainer=replace(tiny.trainer, max_epochs=3))
    last = cfg.fold_dir(0) / "checkpoints" / "last.ckpt"
    message = rf"fold 0 stopped: the training loss is nan at epoch 1, step 6; its last good checkpoint, {last}, is kept"
    with pytest.raises(NonFiniteLossError, match=message):
        train(cfg, folds=[0], callbacks=[NaNWeights()])
    saved = torch.load(last, weights_only=True)
    assert saved["epoch"] == 0 and all(t.isfinite().all() for t in saved["state_dict"].values())
    assert not (cfg.fold_dir(0) / "metrics.json").exists()  # not counted as finished


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_a_fold_killed_mid_run_resumes_to_the_weights_of_an_uninterrupted_run(digits_dir, tmp_path, sig):
    flags = {"data.dir": digits_dir, "cv.n_folds": 3, "trainer.max_epochs": 4, "trainer.limit_train_batches": 6}
    flags |= {"trainer.num_sanity_val_steps": 0, "trainer.enable_progress_bar": False, "mixup.mixup_alpha": 0.4}
    overrides = [str(part) for key, value in flags.items() for part in (f"--{key}", value)]

    def cfg(output_dir: Path):
        return load_config(PROJECT / "configs" / "vision.yaml", [*overrides, "--output_dir", str(output_dir)])

    killed, uninterrupted = cfg(tmp_path / "killed"), cfg(tmp_path / "uninterrupted")
    last = killed.fold_dir(0) / "checkpoints" / "last.ckpt"
    command = [sys.executable, "train.py", "--fold", "0", *overrides, "--output_dir", str(tmp_path / "killed")]

    def terminal() -> None:
        """A shell's background jobs ignore SIGINT, and the child would inherit that: give it a terminal's Ctrl+C."""
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    log = tmp_path / "train.log"
    with log.open("w") as out:
        run = subprocess.Popen(command, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, preexec_fn=terminal)
    deadline = time.monotonic() + 300
    while not last.exists():  # the first epoch has ended
        assert run.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.02)
    time.sleep(0.5)  # into the second epoch's batches
    while run.poll() is None:  # Python drops a KeyboardInterrupt that lands in a finalizer: press Ctrl+C again
        run.send_signal(sig)
        time.sleep(1)
    stopped = run.returncode != 0 and not (killed.fold_dir(0) / "metrics.json").exists()
    assert stopped, log.read_text()[-3000:]  # mid-fold
    assert torch.load(last, weights_only=True)["epoch"] < 3

    train(killed, folds=[0], resume=True)
    train(uninterrupted, folds=[0])
    resumed, reference = (
        torch.load(c.fold_dir(0) / "checkpoints" / "last.ckpt", weights_only=True) for c in (killed, uninterrupted)
    )
    assert resumed["epoch"] == reference["epoch"] == 3
    for name, tensor in reference["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][name], tensor, rtol=1e-4, atol=1e-5, msg=name)


class CrashInFold2(L.Callback):
    def on_fit_start(self, trainer, pl_module):
        if Path(trainer.default_root_dir).name == "fold2":
            raise RuntimeError("simulated crash")


def test_a_crash_in_fold_2_keeps_folds_0_and_1_and_the_rerun_continues_from_fold_2(tiny, capsys):
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(tiny, folds=[0, 1, 2], callbacks=[CrashInFold2()])
    weights = [tiny.fold_dir(k) / "model.safetensors" for k in (0, 1)]
    written = [path.stat().st_mtime_ns for path in weights]
    assert not (tiny.experiment_dir / "cv.json").exists()

    result = train(tiny, folds=[0, 1, 2])
    out = capsys.readouterr().out
    assert "fold 0: finished before" in out and "fold 1: finished before" in out
    assert [path.stat().st_mtime_ns for path in weights] == written  # folds 0 and 1 were not retrained
    assert len(result["cv"]["folds"]) == 3


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "submission.csv"
    write_csv(pd.DataFrame({"id": [1], "label": [0]}), path)
    before = path.read_text()

    def interrupted(tmp: Path) -> None:
        tmp.write_text("id,label\n1,")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, interrupted)
    assert path.read_text() == before and os.listdir(tmp_path) == ["submission.csv"]


def test_checkpoints_are_written_as_they_were_when_saved_and_last_shares_the_bytes_of_the_same_step(tmp_path):
    io, best, last = AtomicCheckpointIO(), tmp_path / "best.ckpt", tmp_path / "last.ckpt"
    weights = torch.ones(3)
    epoch0 = {"epoch": 0, "global_step": 4, "state_dict": {"w": weights}, "loops": [(1, torch.tensor(2))]}
    io.save_checkpoint(epoch0, best)
    weights.mul_(5)  # training goes on while the thread writes: the file keeps the values at save time
    io.save_checkpoint(epoch0, last)
    io.teardown()  # fit() ends: every write is on disk
    assert os.path.samefile(best, last)  # one write for the two names
    saved = torch.load(best, weights_only=True)
    assert saved["state_dict"]["w"].eq(1).all() and saved["loops"] == [(1, torch.tensor(2))]
    io.save_checkpoint({"epoch": 1, "global_step": 8, "state_dict": {"w": weights}}, last)
    assert io.load_checkpoint(last, weights_only=True)["epoch"] == 1  # reading waits for the writes before it
    assert not os.path.samefile(best, last) and torch.load(best, weights_only=True)["state_dict"]["w"].eq(1).all()
    (tmp_path / "a-file").write_text("")
    io.save_checkpoint({"epoch": 2, "global_step": 12}, tmp_path / "a-file" / "last.ckpt")  # no such folder
    with pytest.raises(OSError):
        io.teardown()  # the failed write is raised, not lost


def test_weights_of_another_model_or_class_count_are_refused_naming_both(two_folds, tmp_path):
    competition = load_competition(two_folds, folds=False)
    other = replace(two_folds, model=replace(two_folds.model, name="resnet34"))
    with pytest.raises(
        ConfigError, match=r"holds a 'resnet10t' \(vision\) with 10 outputs, but this config builds a 'resnet34'"
    ):
        load_fold_model(other, competition, 0)
    five = replace(competition, problem=Problem("multiclass", ("label",), tuple(range(5))))
    with pytest.raises(
        ConfigError, match=r"'resnet10t' \(vision\) with 10 outputs, .* 'resnet10t' \(vision\) with 5 outputs"
    ):
        load_fold_model(two_folds, five, 0)
    # weights saved before model.safetensors described its network: torch's reason, and the config's side
    older = replace(two_folds, output_dir=str(tmp_path))
    older.fold_dir(0).mkdir(parents=True)
    save_file(load_file(two_folds.fold_dir(0) / "model.safetensors"), older.fold_dir(0) / "model.safetensors")
    with pytest.raises(ConfigError, match=r"does not fit a 'resnet10t' \(vision\) with 5 outputs \(size mismatch"):
        load_fold_model(older, five, 0)


class RunsCode:
    """Unpickling this opens (creates) a file: what a checkpoint from a stranger could do, and worse."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_a_checkpoint_that_would_run_code_is_refused_unread(tiny, tmp_path):
    marker = tmp_path / "code-ran"
    last = tiny.fold_dir(0) / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    save_config(tiny, tiny.fold_dir(0) / "config.yaml")
    torch.save({"state_dict": {"x": RunsCode(marker)}}, last)
    for load in (lambda: train(tiny, folds=[0], resume=True), lambda: checkpoint_weights(last)):
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            load()
    assert not marker.exists()


def test_credentials_never_reach_configs_logs_or_outputs(digits_dir, tmp_path, monkeypatch):
    secret = "sEcReT0123456789abcdef0123456789abcdef01"  # the shape of a W&B key
    for name in ("WANDB_API_KEY", "KAGGLE_KEY"):
        monkeypatch.setenv(name, secret)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = make_cfg(digits_dir, tmp_path / "outputs", n_folds=2, **TINY)
    train(cfg, folds=[0, 1])
    predict(cfg)
    # W&B's offline runs land beside the outputs, its debug logs in WANDB_DIR (a scratch folder in the tests)
    roots = (tmp_path / "outputs", Path(os.environ["WANDB_DIR"]))
    written = [path for root in roots for path in root.rglob("*") if path.is_file()]
    assert any(path.suffix == ".wandb" for path in written)  # W&B wrote its offline runs
    assert [path for path in written if secret.encode() in path.read_bytes()] == []
