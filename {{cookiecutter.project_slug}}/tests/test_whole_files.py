"""Files that decode but are not whole are found before training: images cut short (a JPEG cut short still decodes,
its missing rows grey), and CSV headers with an empty or a repeated column name. data.skip_bad_rows leaves such
training rows out and counts them in the log and in cv.json; it never trains on them."""

import json
import shutil
from pathlib import Path

import cv2
import pandas as pd
import pytest
from conftest import copy_competition, exits_with_one_line

import predict as predict_script
import train as train_script

SHORT = ["--cv.n_folds", "2", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2"]
SHORT += ["--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false"]


def competition(digits_dir: Path, tmp_path: Path, ext: str = "png") -> Path:
    """The digits competition copied, its images as `ext` files, to cut and edit."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        shutil.copy(digits_dir / name, folder / name)
    for split in ("train", "test"):
        (folder / split).mkdir()
        for source in (digits_dir / split).glob("*.png"):
            if ext == "png":  # linked: cut() and trailer() write a file in the link's place
                (folder / split / source.name).symlink_to(source)
            else:
                cv2.imwrite(str(folder / split / f"{source.stem}.{ext}"), cv2.imread(str(source)))
    return folder


def ids(folder: Path, split: str = "train") -> list[str]:
    return pd.read_csv(folder / f"{split}.csv", dtype=str)["id"].tolist()


def cut(path: Path, keep: float = 0.6) -> None:
    """The file as a download that stopped part of the way writes it."""
    content = path.read_bytes()
    path.unlink()
    path.write_bytes(content[: int(len(content) * keep)])


def trailer(path: Path) -> None:
    """Bytes after the image's end, as some cameras write: the image itself is whole."""
    content = path.read_bytes()
    path.unlink()
    path.write_bytes(content + b"\x00SEFT trailer of a phone camera" * 4)


def flags(folder: Path, tmp_path: Path, ext: str) -> list[str]:
    images = ["--data.train_image", "train/{id}." + ext, "--data.test_image", "test/{id}." + ext]
    return ["--data.dir", str(folder), "--output_dir", str(tmp_path / "outputs"), *images, *SHORT]


@pytest.mark.parametrize(
    ("ext", "split", "keep"),
    [("png", "train", 0.6), ("jpg", "train", 0.6), ("jpg", "train", 0.97), ("png", "test", 0.9), ("jpg", "test", 0.3)],
)
def test_an_image_cut_short_is_refused_before_training_naming_it(digits_dir, tmp_path, capsys, ext, split, keep):
    folder = competition(digits_dir, tmp_path, ext)
    victim = folder / split / f"{ids(folder, split)[5]}.{ext}"
    cut(victim, keep)
    if ext == "jpg" and keep > 0.5:
        assert cv2.imread(str(victim)) is not None  # OpenCV decodes a JPEG cut short without a word
    message = exits_with_one_line(train_script.main, ["--fold", "0", *flags(folder, tmp_path, ext)], capsys)
    assert f"{victim} is cut short" in message and "data.skip_bad_rows" in message
    assert not (tmp_path / "outputs").exists()


def test_predict_refuses_a_test_image_cut_short(digits_dir, tmp_path, capsys, two_folds):
    folder = competition(digits_dir, tmp_path)
    victim = folder / "test" / f"{ids(folder, 'test')[0]}.png"
    cut(victim)
    argv = ["--data.dir", str(folder), "--output_dir", two_folds.output_dir, "--cv.n_folds", "2"]
    assert f"{victim} is cut short" in exits_with_one_line(predict_script.main, argv, capsys)


def test_skip_bad_rows_leaves_out_the_cut_images_counts_them_and_keeps_whole_ones(digits_dir, tmp_path, capsys):
    folder = competition(digits_dir, tmp_path, "jpg")
    train_ids = ids(folder)
    for row in (3, 9):
        cut(folder / "train" / f"{train_ids[row]}.jpg")
    trailer(folder / "train" / f"{train_ids[4]}.jpg")  # whole, with a camera's trailer: kept
    train_script.main(["--fold", "all", *flags(folder, tmp_path, "jpg"), "--data.skip_bad_rows", "true"])
    assert f"left out 2 of {len(train_ids)} rows of train.csv" in capsys.readouterr().out
    experiment = tmp_path / "outputs" / "vision_baseline"
    assert json.loads((experiment / "cv.json").read_text())["left_out_rows"] == 2
    oof_ids = set(pd.read_csv(experiment / "oof.csv", dtype=str)["id"])
    assert oof_ids == set(train_ids) - {train_ids[3], train_ids[9]}


def header(name: str, text: str):
    """A case's CSV `name` with its header line replaced by `text`."""

    def apply(folder: Path) -> None:
        lines = (folder / name).read_text().splitlines()
        body = [line + ("," + line.split(",")[-1]) * (text.count(",") - lines[0].count(",")) for line in lines[1:]]
        (folder / name).write_text("\n".join([text, *body]) + "\n")

    return apply


HEADERS = {  # name: (edit, what the one line must name)
    "a repeated target column": (header("train.csv", "id,label,label"), "names column 'label' 2 times (columns 2, 3)"),
    "a repeated id column": (header("test.csv", "id,id"), "test.csv: the header names column 'id' 2 times"),
    "a pandas index column": (header("train.csv", ",id,label"), "train.csv: column 1 of the header has no name"),
    "a trailing comma": (header("sample_submission.csv", "id,label,"), "column 3 of the header has no name"),
    "a blank column name": (header("test.csv", "id,  "), "test.csv: column 2 of the header has no name"),
}


@pytest.mark.parametrize("case", HEADERS)
def test_a_csv_header_with_an_empty_or_repeated_name_is_refused(digits_dir, tmp_path, capsys, case):
    change, message = HEADERS[case]
    folder = copy_competition(digits_dir, tmp_path)
    change(folder)
    argv = ["--fold", "0", "--data.dir", str(folder), "--output_dir", str(tmp_path / "outputs")]
    assert message in exits_with_one_line(train_script.main, argv, capsys)
    assert not (tmp_path / "outputs").exists()
