"""Names from every language: an experiment (or a blend) is named in letters and digits of any script, with '.',
'_' and '-'. Only what could be a path separator, a control or invisible character, or mean something to the shell,
make or the bundle's notebook is refused, with one line naming the character, and nothing is written anywhere."""

import ast
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import PROJECT, exits_with_one_line, needs

import predict as predict_script
import train as train_script

SHORT = ["--cv.n_folds", "2", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2"]
SHORT += ["--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false"]
NAMES = ["эксперимент_1", "实验-二", "thử-nghiệm.v2", "प्रयोग-३", "تجربة_7", "実験٣", "Ελληνικά.β", "ResNet50-fold.v2"]
REFUSED = {  # name: the character the one line names
    "a/b": "'/'",
    "a\\b": "'\\\\'",
    "../up": "'.'",
    ".hidden": "'.'",
    "-rf": "'-'",
    "two words": "' '",
    "tab\there": "'\\t'",
    "line\nbreak": "SPACE",  # the flag's YAML reads the line break as a space
    "x;touch pwned": "';'",
    "x$(touch pwned)": "'$'",
    "x`touch pwned`": "'`'",
    "x|tee pwned": "'|'",
    "x&&touch pwned": "'&'",
    "x>pwned": "'>'",
    "x*": "'*'",
    "x?": "'?'",
    "x#comment": "'#'",
    "x:y": "':'",
    "x=y": "'='",
    "x%y": "'%'",
    "x'y": '"\'"',
    'x"y': "'\"'",
    "x{y}": "'{'",
    "right\u202eleft": "RIGHT-TO-LEFT OVERRIDE",
    "zero\u200bwidth": "ZERO WIDTH SPACE",
    "bell\x07": "control characters are not allowed",  # refused as the flag's YAML is read
    "x" * 101: "101 characters",
    "中" * 80: "240 bytes in UTF-8",
    "": "config key 'experiment'",
}


def everything(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize("name", NAMES)
def test_a_name_in_any_script_is_accepted(name):
    cfg = train_script.load_config(PROJECT / "configs" / "vision.yaml", [f"--experiment={name}"])
    assert cfg.experiment_dir.name == name


@pytest.mark.parametrize("name", REFUSED)
def test_a_name_that_could_do_harm_is_refused_naming_the_character(digits_dir, tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    argv = [
        "--fold",
        "0",
        "--config",
        str(PROJECT / "configs" / "vision.yaml"),
        f"--experiment={name}",
        "--data.dir",
        str(digits_dir),
        "--output_dir",
        str(tmp_path / "out"),
    ]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert "experiment" in message and REFUSED[name] in message
    assert everything(tmp_path) == []  # no folder, no pwned file, here or in the outputs


@needs("ensemble")
@pytest.mark.parametrize("name", ["x/../../y", "x;touch pwned", "bidi\u202e"])
def test_a_blend_name_that_could_do_harm_is_refused(two_folds, tmp_path, capsys, monkeypatch, name):
    import blend as blend_script

    monkeypatch.chdir(tmp_path)
    argv = ["vision_baseline", "--output_dir", two_folds.output_dir, "--name", name]
    assert f"blend name {name!r} is no name of" in exits_with_one_line(blend_script.main, argv, capsys)
    assert everything(tmp_path) == []


@needs("submission/bundle")
def test_a_russian_experiment_trains_predicts_and_bundles_under_its_own_name(digits_dir, tmp_path, monkeypatch):
    from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle

    name = "эксперимент_1"
    flags = ["--experiment", name, "--data.dir", str(digits_dir), "--output_dir", str(tmp_path / "outputs"), *SHORT]
    train_script.main(["--fold", "all", *flags])
    predict_script.main(flags)
    experiment = tmp_path / "outputs" / name
    assert json.loads((experiment / "cv.json").read_text())["cv"] >= 0
    assert len(pd.read_csv(experiment / "submission.csv")) == len(pd.read_csv(digits_dir / "sample_submission.csv"))

    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    folder = make_bundle(train_script.load_config(str(experiment / "config.yaml")), tmp_path / "bundle")
    dataset = json.loads((folder / "dataset-metadata.json").read_text())["id"]
    assert dataset.isascii() and dataset.startswith("me/kaggle-baseline-") and len(dataset) > len("me/kaggle-baseline-")
    kernel = json.loads((folder / "kernel" / "kernel-metadata.json").read_text())
    assert kernel["id"].isascii() and kernel["id"] != "me/kaggle-baseline-inference"
    tree = ast.parse((folder / "kernel" / "inference.py").read_text())
    assert any(isinstance(node, ast.Constant) and name in str(node.value) for node in ast.walk(tree))
