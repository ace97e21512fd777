"""The disk says no: a full disk, a read-only folder or a missing permission at each write site (a checkpoint, the
weights, the image cache, the OOF, the submission, the config) is one line naming the path, and how much
space was needed where it can tell. The files written before stay whole, and the same command run again once space
is freed goes on from them. The refusals are injected where the bytes are written, as the OS raises them."""

import errno
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import exits_with_one_line

import predict as predict_script
import train as train_script

SHORT = ["--cv.n_folds", "2", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2"]
SHORT += ["--trainer.limit_val_batches", "2", "--trainer.num_sanity_val_steps", "0"]
SHORT += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
FULL = OSError(errno.ENOSPC, "No space left on device")


def refuse(monkeypatch, owner, name: str, error: OSError, after: int = 0, when=lambda *args, **kwargs: True):
    """`owner.name` raises `error` once it has run `after` times (where `when` holds for its arguments)."""
    original, calls = getattr(owner, name), []

    def fake(*args, **kwargs):
        if when(*args, **kwargs):
            calls.append(args)
            if len(calls) > after:
                raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, fake)


def flags(digits_dir: Path, out: Path) -> list[str]:
    return ["--data.dir", str(digits_dir), "--output_dir", str(out), *SHORT]


def leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*.tmp")]


def test_a_full_disk_at_a_checkpoint_keeps_the_last_one_and_resume_finishes(digits_dir, tmp_path, capsys, monkeypatch):
    refuse(monkeypatch, torch, "save", FULL, after=1)  # epoch 0's checkpoint is written, epoch 1's is not
    argv = ["--fold", "0", *flags(digits_dir, tmp_path)]
    message = exits_with_one_line(train_script.main, argv, capsys)
    checkpoints = tmp_path / "vision_baseline" / "fold0" / "checkpoints"
    assert f"cannot write {checkpoints}" in message and "No space left on device (" in message
    assert "MB needed" in message and "--resume" in message
    assert torch.load(checkpoints / "last.ckpt", weights_only=False)["epoch"] == 0  # whole, the last good one
    assert leftovers(tmp_path) == []
    monkeypatch.undo()  # space freed
    train_script.main([*argv, "--resume"])
    assert (tmp_path / "vision_baseline" / "fold0" / "metrics.json").is_file()


def test_a_full_disk_at_the_weights_is_one_line_and_a_rerun_writes_them(digits_dir, tmp_path, capsys, monkeypatch):
    import safetensors.torch
    from safetensors import SafetensorError

    full = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    refuse(monkeypatch, safetensors.torch, "save_model", full)
    argv = ["--fold", "0", *flags(digits_dir, tmp_path)]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert f"cannot write {tmp_path / 'vision_baseline' / 'fold0' / 'model.safetensors'}: No space" in message
    monkeypatch.undo()
    train_script.main([*argv, "--resume"])
    assert (tmp_path / "vision_baseline" / "fold0" / "model.safetensors").is_file()


def test_a_full_disk_at_the_oof_merge_keeps_the_folds_and_a_rerun_merges(two_folds, tmp_path, capsys, monkeypatch):
    out = tmp_path / "outputs"
    shutil.copytree(two_folds.output_dir, out)
    experiment = out / "vision_baseline"
    (experiment / "cv.json").unlink()
    refuse(monkeypatch, pd.DataFrame, "to_csv", FULL, when=lambda table, path, **kw: ".oof.csv." in str(path))
    argv = ["--fold", "all", "--config", str(experiment / "config.yaml"), "--output_dir", str(out)]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert f"cannot write {experiment / 'oof.csv'}: No space left on device" in message
    assert not (experiment / "cv.json").exists() and leftovers(out) == []
    monkeypatch.undo()
    train_script.main(argv)
    assert (experiment / "cv.json").is_file()


def test_a_full_disk_at_the_submission_keeps_the_last_one(two_folds, tmp_path, capsys, monkeypatch):
    argv = ["--data.dir", two_folds.data.dir, "--output_dir", two_folds.output_dir, "--out", str(tmp_path / "s.csv")]
    predict_script.main(argv)
    before = (tmp_path / "s.csv").read_bytes()
    refuse(monkeypatch, pd.DataFrame, "to_csv", FULL, when=lambda table, path, **kw: ".s.csv." in str(path))
    message = exits_with_one_line(predict_script.main, argv, capsys)
    assert f"cannot write {tmp_path / 's.csv'}: No space left on device" in message
    assert (tmp_path / "s.csv").read_bytes() == before and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [(errno.EROFS, "Read-only file system; make its folder writable"), (errno.EACCES, "Permission denied; make")],
)
def test_a_read_only_or_forbidden_output_folder_is_one_line_naming_it(
    digits_dir, tmp_path, capsys, monkeypatch, code, expected
):
    import os
    import tempfile

    refuse(monkeypatch, tempfile, "mkstemp", OSError(code, os.strerror(code)))
    message = exits_with_one_line(train_script.main, ["--fold", "0", *flags(digits_dir, tmp_path / "out")], capsys)
    assert "cannot write " in message and str(tmp_path / "out") in message and expected in message


def test_a_cache_that_does_not_fit_is_one_line_with_the_space_it_needs(digits_dir, tmp_path, capsys, monkeypatch):
    import os

    refuse(monkeypatch, os, "posix_fallocate", FULL)
    argv = ["--fold", "0", *flags(digits_dir, tmp_path), "--data.cache", "true"]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert f"cannot write {tmp_path / '.cache'}/images-" in message and "MB needed" in message
    assert "data.cache_dir" in message and list((tmp_path / ".cache").glob("*.npy")) == []
