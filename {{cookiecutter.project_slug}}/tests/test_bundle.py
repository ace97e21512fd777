"""The offline Kaggle bundle: what it holds, and that it alone predicts predict.py's submission."""

import ast
import json
import shutil
from dataclasses import replace

import pandas as pd
import pytest
from conftest import exits_with_one_line, predict_from_bundle

import bundle as bundle_script
from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle
from {{ cookiecutter.module_name }}.submission.predict import predict


def test_the_bundle_holds_code_weights_config_and_kaggle_metadata(two_folds, tmp_path):
    bundle = make_bundle(two_folds, tmp_path / "bundle", competition="digit-recognizer")
    assert (bundle / "predict.py").is_file() and (bundle / "src").is_dir()
    assert not list(bundle.rglob("__pycache__"))
    weights = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*.safetensors"))
    assert weights == [f"outputs/vision_baseline/fold{k}/model.safetensors" for k in range(2)]
    assert not list(bundle.rglob("*.ckpt"))  # plain weights only: no pickles, no optimizer state
    dataset = json.loads((bundle / "dataset-metadata.json").read_text())
    kernel = json.loads((bundle / "kernel" / "kernel-metadata.json").read_text())
    assert kernel["dataset_sources"] == [dataset["id"]] and kernel["competition_sources"] == ["digit-recognizer"]
    assert kernel["enable_internet"] is False and kernel["machine_shape"] == "NvidiaTeslaT4"  # not the P100
    compile((bundle / "kernel" / "inference.py").read_text(), "inference.py", "exec")
    assert "torch==" in (bundle / "requirements.txt").read_text()


@pytest.mark.slow
def test_the_bundle_alone_predicts_the_same_submission_as_predict_py(two_folds, tmp_path):
    expected = pd.read_csv(predict(two_folds))
    bundle = make_bundle(two_folds, tmp_path / "made" / "bundle")
    clean = tmp_path / "kaggle" / "input" / "bundle"
    shutil.copytree(bundle, clean)  # somewhere else, away from the project and its outputs
    shutil.rmtree(bundle)
    predict_from_bundle(clean, two_folds.data.dir, tmp_path / "submission.csv", two_folds.experiment)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "submission.csv"), expected)


def test_names_reach_the_kaggle_notebook_as_string_literals(two_folds, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", 'me"""; import os #')
    name = 'sample"); __import__("os").system("touch pwned"); ("'
    hostile = replace(two_folds, data=replace(two_folds.data, sample_submission=name))
    folder = make_bundle(hostile, tmp_path / "bundle")
    tree = ast.parse((folder / "kernel" / "inference.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "find"]
    assert [ast.literal_eval(call.args[0]) for call in calls][-1] == name  # the name, whole, as data
    assert "system" not in {getattr(node.func, "attr", "") for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert json.loads((folder / "dataset-metadata.json").read_text())["id"].startswith("meimportos/")


def test_bundle_before_training_exits_2_with_one_line(digits_dir, tmp_path, capsys):
    flags = ["--data.dir", str(digits_dir), "--output_dir", str(tmp_path / "none")]
    assert "run python train.py --fold all first" in exits_with_one_line(bundle_script.main, flags, capsys)


def test_credentials_never_reach_the_bundle(two_folds, tmp_path, monkeypatch):
    secret = "sEcReT0123456789abcdef0123456789abcdef01"  # the shape of a W&B key
    for name in ("WANDB_API_KEY", "KAGGLE_KEY"):
        monkeypatch.setenv(name, secret)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    folder = make_bundle(two_folds, tmp_path / "bundle")
    written = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.suffix == ".safetensors" for path in written)
    assert [path for path in written if secret.encode() in path.read_bytes()] == []
