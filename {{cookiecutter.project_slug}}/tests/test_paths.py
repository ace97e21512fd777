"""Messages that do not mislead: a path of the wrong kind says what it is (a folder where a file is expected, a
file where a folder is), not that it does not exist; a relative path is named with the working folder it was read
from, and with the project's folder where it is found there instead."""

import shutil
from pathlib import Path

import pytest
from conftest import PROJECT, exits_with_one_line

import predict as predict_script
import train as train_script


def a_file(tmp_path: Path) -> Path:
    (tmp_path / "a_file").write_text("not a folder\n")
    return tmp_path / "a_file"


def a_folder(tmp_path: Path) -> Path:
    (tmp_path / "a_folder").mkdir(exist_ok=True)
    return tmp_path / "a_folder"


CASES = {  # name: (flags given the digits' folder and a scratch folder, what the one line says)
    "data.dir is a file": (
        lambda d, t: ["--data.dir", str(a_file(t))],
        lambda d, t: f"config key 'data.dir': {t / 'a_file'} is a file, not a folder",
    ),
    "train_csv is a folder": (
        lambda d, t: ["--data.train_csv", "train"],
        lambda d, t: f"config key 'data.train_csv': {d / 'train'} is a folder, not a file (its folder: ",
    ),
    "the config is a folder": (
        lambda d, t: ["--config", str(a_folder(t))],
        lambda d, t: f"config file {t / 'a_folder'} is a folder, not a file",
    ),
    "output_dir is a file": (
        lambda d, t: ["--output_dir", str(a_file(t))],
        lambda d, t: f"config key 'output_dir': {t / 'a_file'} is a file, not a folder",
    ),
    "cache_dir is a file": (
        lambda d, t: ["--data.cache_dir", str(a_file(t))],
        lambda d, t: f"config key 'data.cache_dir': {t / 'a_file'} is a file, not a folder",
    ),
    "folds_dir is a file": (
        lambda d, t: ["--cv.folds_dir", str(a_file(t))],
        lambda d, t: f"config key 'cv.folds_dir': {t / 'a_file'} is a file, not a folder",
    ),
    "weights_file is a folder": (
        lambda d, t: ["--model.pretrained", "true", "--model.weights_file", str(a_folder(t))],
        lambda d, t: f"config key 'model.weights_file': {t / 'a_folder'} is a folder, not a file",
    ),
    "an image is a folder": (
        lambda d, t: [],
        lambda d, t: "is a folder, not an image file",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_path_of_the_wrong_kind_says_what_it_is(digits_dir, tmp_path, capsys, case):
    flags, expected = CASES[case]
    argv = [
        "--fold",
        "0",
        "--data.dir",
        str(digits_dir),
        "--output_dir",
        str(tmp_path / "out"),
        *flags(digits_dir, tmp_path),
    ]
    if case == "an image is a folder":  # a competition whose first row's image path is a folder
        folder = tmp_path / "data"
        shutil.copytree(digits_dir, folder, ignore=shutil.ignore_patterns("folds-*"))
        first = (folder / "train.csv").read_text().splitlines()[1].split(",")[0]
        (folder / "train" / f"{first}.png").unlink()
        (folder / "train" / f"{first}.png").mkdir()
        argv += ["--data.dir", str(folder)]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert expected(digits_dir, tmp_path) in message
    assert "does not exist" not in message


def test_predict_refuses_an_out_that_is_a_folder(two_folds, tmp_path, capsys):
    argv = ["--output_dir", two_folds.output_dir, "--out", str(a_folder(tmp_path))]
    message = exits_with_one_line(predict_script.main, argv, capsys)
    assert f"--out {tmp_path / 'a_folder'} is a folder: give a file's path" in message
    assert list((tmp_path / "a_folder").iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--fold", "0"], "config file configs/vision.yaml"),  # the default config
        (
            ["--fold", "0", "--config", str(PROJECT / "configs" / "vision.yaml"), "--data.dir", "configs"],
            "'data.dir': configs",
        ),
    ],
    ids=["the default config", "a relative data.dir"],
)
def test_a_relative_path_from_another_folder_names_the_working_folder_and_the_project(
    tmp_path, capsys, monkeypatch, argv, named
):
    monkeypatch.chdir(tmp_path)
    message = exits_with_one_line(train_script.main, [*argv, "--output_dir", str(tmp_path / "out")], capsys)
    assert f"{named} (from the working folder {tmp_path}; the project's {PROJECT}/" in message
    assert f"is there: run from {PROJECT}, or give the full path) does not exist" in message
    assert not (tmp_path / "out").exists()
