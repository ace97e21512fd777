"""Trust on data the project was not built for: ids and labels kept as the competition's strings, one error
path (exit code 2, one line, nothing written), nothing lost or mixed, config values and names kept as data."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import PROJECT, copy_competition, exits_with_one_line

import predict as predict_script
import train as train_script
from {{ cookiecutter.module_name }}.cv import fold, oof
from {{ cookiecutter.module_name }}.cv import loop as cv
from {{ cookiecutter.module_name }}.cv.split import folds_path
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.run.errors import ConfigError, DataError, UserError
from {{ cookiecutter.module_name }}.submission.predict import predict

SHORT = ["--cv.n_folds", "2", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "3"]
SHORT += ["--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false"]


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "train/" not in str(p) + "/")


# --- 1. ids and labels are the competition's strings -------------------------------------------------------

ODD_IDS = ["00100", "10.00", "NA", "None", "null", "nan", "1e3", "007"]


def test_ids_and_labels_reach_the_submission_byte_for_byte(digits_dir, tmp_path):
    """Ids such as 00100, 10.00 or NA and labels such as 07 or None are text: read, trained on, written back
    exactly as sample_submission.csv has them, and compared with it as text."""
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    names = {d: f"0{d}" for d in range(10)} | {0: "None", 9: "NA"}  # labels 01..08, None, NA
    tables = {}
    for split in ("train", "test"):
        rows = pd.read_csv(digits_dir / f"{split}.csv", dtype=str)
        odd = ODD_IDS if split == "test" else [f"t{x}" for x in ODD_IDS]
        rows["id"] = odd + [f"{split[:2]}{i:05d}" for i in range(len(odd), len(rows))]
        rows["file"] = [f"{split}-{i}" for i in range(len(rows))]
        for i, source in enumerate(pd.read_csv(digits_dir / f"{split}.csv", dtype=str)["id"]):
            (folder / "images" / f"{split}-{i}.png").symlink_to(digits_dir / split / f"{source}.png")
        tables[split] = rows
    train = tables["train"].assign(label=tables["train"]["label"].astype(int).map(names))
    train[["id", "file", "label"]].to_csv(folder / "train.csv", index=False)
    tables["test"][["id", "file"]].to_csv(folder / "test.csv", index=False)
    tables["test"][["id"]].assign(label="01").to_csv(folder / "sample_submission.csv", index=False)

    flags = ["--data.dir", str(folder), "--output_dir", str(tmp_path / "out"), *SHORT]
    flags += ["--data.train_image", "images/{file}.png", "--data.test_image", "images/{file}.png"]
    train_script.main(["--fold", "all", *flags])
    predict_script.main(flags)

    experiment = tmp_path / "out" / "vision_baseline"
    sample_lines = (folder / "sample_submission.csv").read_text().splitlines()
    written = (experiment / "submission.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in written] == [line.split(",")[0] for line in sample_lines]
    assert {line.split(",")[1] for line in written[1:]} <= set(names.values())
    oof = pd.read_csv(experiment / "oof.csv", dtype=str, keep_default_na=False)
    assert sorted(oof["id"]) == sorted(train["id"]) and set(oof["label"]) == set(names.values())
    assert "prob_01" in oof.columns and "prob_NA" in oof.columns  # classes named as train.csv writes them
    folds = pd.read_csv(folds_path(train_script.load_config("configs/vision.yaml", flags)), dtype=str)
    assert sorted(folds["id"]) == sorted(train["id"])


def test_images_of_every_depth_and_orientation_are_read(tmp_path):
    """16-bit grayscale PNGs (scientific data), RGBA and palette PNGs, and phone photos turned by EXIF."""
    from PIL import Image

    from {{ cookiecutter.module_name }}.tasks.vision.data import read_image

    cv2.imwrite(str(tmp_path / "deep.png"), (np.arange(48 * 64).reshape(48, 64) * 20).astype(np.uint16))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.full((10, 20, 4), 200, np.uint8))
    Image.fromarray(np.full((10, 20, 3), 50, np.uint8)).convert("P").save(tmp_path / "palette.png")
    photo = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = photo.getexif()
    exif[0x0112] = 6  # stored sideways: upright it is 20 high, 10 wide
    photo.save(tmp_path / "phone.jpg", exif=exif)
    for channels in (1, 3):
        deep = read_image(tmp_path / "deep.png", channels)
        assert deep.shape == (48, 64, channels) and deep.dtype == np.uint8 and deep.max() == 255
        assert read_image(tmp_path / "rgba.png", channels).shape == (10, 20, channels)
        assert read_image(tmp_path / "palette.png", channels).shape == (10, 20, channels)
        assert read_image(tmp_path / "phone.jpg", channels).shape == (20, 10, channels)


# --- 2. one error path --------------------------------------------------------------------------------------


def edit(name: str, change):
    """A case's edit of one table of the copied competition."""

    def apply(folder: Path) -> None:
        path = folder / name
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        result = change(table, folder)
        if isinstance(result, pd.DataFrame):
            result.to_csv(path, index=False)

    return apply


def write_bytes(name: str, content: bytes):
    return lambda folder: (folder / name).write_bytes(content)


def empty_image(folder: Path) -> None:
    first = pd.read_csv(folder / "train.csv", dtype=str)["id"][0]
    (folder / "train").unlink()
    shutil.copytree(folder.parent / "digits-source" / "train", folder / "train")
    (folder / "train" / f"{first}.png").write_bytes(b"")


def worded_grades(folder: Path) -> None:
    """Grades written as words: alphabetical order is not their order."""
    words = dict(enumerate(["none", "low", "mid", "high", "top"] * 2))
    for name in ("train.csv", "sample_submission.csv"):
        table = pd.read_csv(folder / name, dtype=str)
        table.assign(label=table.label.astype(int).map(words)).to_csv(folder / name, index=False)


def label_at(row: int, value: str):
    return edit("train.csv", lambda t, f: t.assign(label=[value if i == row else x for i, x in enumerate(t.label)]))


CASES = {  # name: (edit of the data, flags, what the one line must name)
    "empty label": (label_at(4, ""), [], "train.csv: line 6 has no target in column 'label'"),
    "single class": (edit("train.csv", lambda t, f: t.assign(label="3")), [], "has a single class ['3']"),
    "too few rows": (
        edit("train.csv", lambda t, f: t.head(7).assign(label=["0", "1"] * 3 + ["0"])),
        [],
        "has 7 rows, too few for 5 folds",
    ),
    "non-finite regression target": (
        edit("train.csv", lambda t, f: t.assign(label=["inf", *t.label[1:]])),
        ["--problem", "regression", "--metric", "rmse", "--cv.splitter", "kfold"],
        "line 2 of regression target 'label' holds 'inf', not a finite number",
    ),
    "empty group": (
        edit("train.csv", lambda t, f: t.assign(writer=[""] + [f"w{i % 9}" for i in range(1, len(t))])),
        ["--cv.splitter", "group", "--cv.group_col", "writer"],
        "line 2 has no group in column 'writer'",
    ),
    "a group column that is not there": (
        None,
        ["--cv.splitter", "group", "--cv.group_col", "writer"],
        "has no column 'writer'",
    ),
    "latin-1 csv": (write_bytes("test.csv", "id\ncaf\xe9\n".encode("latin-1")), [], "test.csv: not UTF-8 text"),
    "semicolons": (
        edit("test.csv", lambda t, f: (f / "test.csv").write_text("id;x\n" + "\n".join(t.id + ";1"))),
        [],
        "is it separated by ';' or tabs?",
    ),
    "zero-byte csv": (write_bytes("sample_submission.csv", b""), [], "sample_submission.csv is empty"),
    "empty id": (edit("test.csv", lambda t, f: t.assign(id=["", *t.id[1:]])), [], "line 2 has an empty id"),
    "zero-byte image": (empty_image, [], "is empty (0 bytes)"),
    "unknown timm model": (None, ["--model.name", "resnet_18"], "timm has no model 'resnet_18'; did you mean resnet18"),
    "image_size 0": (None, ["--data.image_size", "0"], "'data.image_size': 0 is out of range"),
    "max_epochs 0": (None, ["--trainer.max_epochs", "0"], "'trainer.max_epochs': 0 is out of range"),
    "batch larger than the training rows": (
        None,
        ["--data.batch_size", "4096"],
        "'data.batch_size': 4096 is more than the 1200 training rows of fold 0",
    ),
    "metric undefined on a fold": (
        edit("train.csv", lambda t, f: t.assign(label=["1"] * 5 + ["0"] * (len(t) - 5))),
        ["--problem", "binary", "--metric", "roc_auc", "--cv.splitter", "kfold", "--cv.n_folds", "10"],
        "roc_auc is undefined on fold",
    ),
    "qwk on grades written as words": (worded_grades, ["--metric", "qwk"], "qwk needs grades that are numbers"),
    "environment in a config value": (None, ["--experiment", "x${oc.env:HOME}"], "asks OmegaConf's resolver 'oc.env'"),
    "shell in an experiment name": (None, ["--experiment", "a;rm -rf x"], "'experiment': 'a;rm -rf x' is no name"),
    "a missing file": (None, ["--data.test_csv", "tests.csv"], "config key 'data.test_csv'"),
    "a repeated id": (edit("train.csv", lambda t, f: pd.concat([t, t.iloc[[7]]])), [], "is not unique"),
    "an unknown flag value": (None, ["--fold", "one"], "--fold 'one': give a fold number"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_users_mistake_exits_2_with_one_line_naming_it_and_writes_nothing(digits_dir, tmp_path, capsys, case):
    change, flags, message = CASES[case]
    (tmp_path / "digits-source").symlink_to(digits_dir)
    folder = copy_competition(digits_dir, tmp_path)
    if change:
        change(folder)
    before = listing(folder)
    out = tmp_path / "outputs"
    fold = [] if "--fold" in flags else ["--fold", "0"]
    argv = [*fold, "--data.dir", str(folder), "--output_dir", str(out), *flags]
    assert message in exits_with_one_line(train_script.main, argv, capsys)
    assert not out.exists()  # no config.yaml, no experiment folder
    assert listing(folder) == before  # no folds file beside the data


def test_a_yaml_syntax_error_names_its_line(tmp_path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_text("experiment: x\ndata:\n  dir: [unclosed\n")
    assert "not valid YAML at line" in exits_with_one_line(train_script.main, ["--config", str(config)], capsys)


def test_predict_before_training_and_a_misspelt_model_folder_exit_2_too(digits_dir, tmp_path, capsys):
    flags = ["--data.dir", str(digits_dir), "--output_dir", str(tmp_path / "none")]
    assert "run python train.py --fold all first" in exits_with_one_line(predict_script.main, flags, capsys)
    if (PROJECT / "configs" / "nlp.yaml").exists():
        nlp = ["--config", "configs/nlp.yaml", "--model.name", "/nowhere/t5-tiny", "--output_dir", str(tmp_path)]
        message = exits_with_one_line(train_script.main, nlp, capsys)
        assert "config key 'model.name': '/nowhere/t5-tiny' is not a folder" in message


def test_an_error_inside_a_dataloader_worker_is_one_line(capsys):
    """A corrupt image found mid-training, in a worker: torch re-raises it with the worker's traceback as text."""

    @cli.entry
    def main():
        raise DataError(
            "Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
            '  File "x.py", line 1\npkg.errors.DataError: image train/7.png is not a readable image'
        )

    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "error: image train/7.png is not a readable image\n"


# --- 3. nothing lost, nothing mixed -----------------------------------------------------------------------


def test_checkpoints_are_renamed_into_place_from_their_own_folder_with_the_users_umask(tiny, monkeypatch):
    renames = []
    replace_file = os.replace

    def spy(source, target):
        renames.append((Path(source), Path(target)))
        replace_file(source, target)

    monkeypatch.setattr(os, "replace", spy)
    old = os.umask(0o002)
    try:
        cv.train(tiny, folds=[0])
    finally:
        os.umask(old)
    checkpoints = [(s, t) for s, t in renames if t.suffix == ".ckpt"]
    assert checkpoints and all(s.parent == t.parent for s, t in checkpoints)
    fold = tiny.fold_dir(0)
    for path in [*fold.glob("checkpoints/*.ckpt"), fold / "oof.csv", fold / "model.safetensors"]:
        assert path.stat().st_mode & 0o777 == 0o664, path
    assert not list(fold.rglob("*.tmp"))


def holder(lock: Path) -> subprocess.Popen:
    """Another process that holds a fold's lock until it is killed."""
    code = (
        "import sys, time; sys.path.insert(0, 'src')\n"
        "from {{ cookiecutter.module_name }}.cv.lock import exclusive\n"
        f"with exclusive(__import__('pathlib').Path({str(lock)!r}), 'fold 0'):\n"
        "    print('held', flush=True); time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_run_of_a_fold_is_refused_naming_the_first_and_a_killed_runs_lock_is_taken_over(tiny, capsys):
    first = holder(tiny.experiment_dir / ".fold0.lock")
    try:
        with pytest.raises(UserError, match=rf"fold 0 of 'vision_baseline' is being trained by process {first.pid}"):
            cv.train(tiny, folds=[0])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not tiny.fold_dir(0).exists()  # the running fold's files were not touched
    cv.train(tiny, folds=[0])  # the dead process's lock file is left, and is no obstacle
    assert (tiny.fold_dir(0) / "metrics.json").exists()


def test_force_on_one_fold_with_another_config_does_not_mix_configs(tiny, capsys):
    tiny = replace(tiny, cv=replace(tiny.cv, n_folds=2))
    cv.train(tiny, folds=[0, 1])
    changed = replace(tiny, optim=replace(tiny.optim, lr=0.01))
    message = r"fold 1 of experiment 'vision_baseline' was trained with another config .*--fold all --force"
    with pytest.raises(ConfigError, match=message):
        cv.train(changed, folds=[0], force=True)  # fold 1 would stay from the old config
    assert cv.train(changed, folds=[0, 1], force=True)["cv"]  # both again: one config
    # a fold edited by hand behind the runner's back: predict refuses to average two configs
    config = tiny.fold_dir(1) / "config.yaml"
    config.write_text(config.read_text().replace("lr: 0.01", "lr: 0.02"))
    with pytest.raises(ConfigError, match=r"folds 0 and 1 of .* were trained with different configs \(optim.lr"):
        predict(changed)


def test_a_merge_killed_halfway_is_completed_by_the_next_run(tiny, monkeypatch, capsys):
    tiny = replace(tiny, cv=replace(tiny.cv, n_folds=2))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(oof, "log_cv", killed)  # after oof.csv and the plots, before cv.json
    with pytest.raises(KeyboardInterrupt):
        cv.train(tiny, folds=[0, 1])
    assert (tiny.experiment_dir / "oof.csv").exists() and not (tiny.experiment_dir / "cv.json").exists()
    monkeypatch.undo()
    result = cv.train(tiny, folds=[0, 1])
    assert capsys.readouterr().out.count("finished before") == 2  # nothing retrained
    assert result["cv"] == json.loads((tiny.experiment_dir / "cv.json").read_text())
    os.utime(tiny.fold_dir(1) / "metrics.json", ns=(time.time_ns() + 10**9,) * 2)  # a fold newer than cv.json
    merged = (tiny.experiment_dir / "cv.json").stat().st_mtime_ns
    cv.train(tiny, folds=[1])
    assert (tiny.experiment_dir / "cv.json").stat().st_mtime_ns > merged


# --- 4. config values and names are data --------------------------------------------------------------------


def test_best_checkpoint_and_average_are_compared_with_the_same_batchnorm_treatment(tiny, monkeypatch):
    calls = []
    recalibrate = fold.recalibrate_batchnorm
    monkeypatch.setattr(fold, "recalibrate_batchnorm", lambda *a: (calls.append(1), recalibrate(*a)))
    averaging, trainer = replace(tiny.averaging, weights="top_k", top_k=2), replace(tiny.trainer, max_epochs=2)
    cfg = replace(tiny, averaging=averaging, trainer=trainer)
    cv.train(cfg, folds=[0])
    assert len(calls) == 2  # the best checkpoint's statistics, then the average's
    metrics = json.loads((cfg.fold_dir(0) / "metrics.json").read_text())
    assert np.isfinite(metrics["score_best"]) and torch.isfinite(torch.tensor(metrics["score"]))
