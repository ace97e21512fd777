"""The offline Kaggle bundle: what it holds, and that it alone predicts predict.py's submission."""

import json
import shutil

import pandas as pd
import pytest
from conftest import predict_from_bundle

from {{ cookiecutter.module_name }}.bundle import make_bundle
from {{ cookiecutter.module_name }}.inference import predict


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
