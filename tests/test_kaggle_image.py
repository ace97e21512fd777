"""From the command line to Kaggle, as the READMEs promise: `cookiecutter <repo> --no-input`, `train.py --fold all`,
`predict.py`, `bundle.py`; then the bundle predicts in a stand-in for Kaggle's notebook image: other versions of
torch, timm and transformers than the project's pins, no omegaconf, another safetensors, and no package index,
only the bundle's own wheels; and its predictions are the project's, within float tolerance."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEMPLATE, run

UV = str(Path(sys.executable).with_name("uv"))
# As Kaggle's image has them in late 2026 (PITFALLS.md): its own torch, transformers 5, unpinned timm.
IMAGE = [
    "torch==2.10.0",
    "torchvision==0.25.0",
    "timm==1.0.20",
    "transformers==5.0.0",
    "safetensors==0.6.2",
    "albumentations==2.0.8",
    "pandas==2.2.3",
    "scikit-learn",
    "pyyaml",
    "pip",
]
TASKS = {  # task: (train.py's config flags, experiment, demo competition, a column of its submission)
    "vision": ([], "vision_baseline", "digits", "label"),
    "nlp": (["--config", "configs/nlp.yaml"], "nlp_baseline", "docstrings", "library"),
}
# The fold-averaged test predictions, before any label is chosen, from the bundle's folder.
PREDICTIONS = """
import sys
import numpy as np
import torch
sys.path.insert(0, "src")
from kaggle_baseline.config import load_config
from kaggle_baseline.cv.split import load_competition
from kaggle_baseline.cv.state import trained_folds
from kaggle_baseline.submission.predict import predict_fold
cfg = load_config(sys.argv[1], ["--data.dir", sys.argv[2]])
competition = load_competition(cfg, folds=False)
folds = trained_folds(cfg)
np.save(sys.argv[3], np.mean([predict_fold(cfg, competition, k, torch.device("cpu")) for k in folds], axis=0))
"""


@pytest.fixture(scope="module")
def fresh_image(tmp_path_factory) -> tuple[Path, Path]:
    """A virtual environment with the image's libraries (from uv's cache after the first run), and its freeze."""
    folder = tmp_path_factory.mktemp("kaggle-image")
    python = folder / "venv" / "bin" / "python"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(folder / "venv")], check=True)
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(python), *IMAGE], check=True)
    frozen = folder / "image.txt"
    freeze = subprocess.run([UV, "pip", "freeze", "--python", str(python)], check=True, capture_output=True, text=True)
    frozen.write_text(freeze.stdout)
    return python, frozen


@pytest.fixture
def image(fresh_image) -> Iterator[Path]:
    """The image as Kaggle starts it, for each test: what a test's bundle installed is taken out again."""
    python, frozen = fresh_image
    yield python
    subprocess.run([UV, "pip", "sync", "--quiet", "--python", str(python), str(frozen)], check=True)


def cross_validate_and_predict(task: str, tmp_path: Path) -> Path:
    """`cookiecutter <repo> --no-input`, `train.py --fold all` (twice: the rerun skips the finished folds) and
    `predict.py` with the task's config by default, each checked as a competitor reads its output."""
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    done = subprocess.run(
        [str(cookiecutter), "--no-input", "-o", str(tmp_path), str(TEMPLATE), f"task={task}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "make setup" in done.stdout  # the post-generation hook's next steps
    project = tmp_path / "kaggle-baseline"
    config, experiment, demo, target = TASKS[task]
    short = [*config, "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "3", "--cv.n_folds", "2"]
    done = run([sys.executable, "train.py", "--fold", "all", *short], project, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fold 1: accuracy = " in done.stdout and "CV " in done.stdout

    outputs, data = project / "outputs" / experiment, project / "data" / "demo" / demo
    assert len(pd.read_csv(outputs / "oof.csv")) == len(pd.read_csv(data / "train.csv"))
    assert {"metric", "folds", "cv"} <= json.loads((outputs / "cv.json").read_text()).keys()

    done = run([sys.executable, "predict.py"], project, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    submission = pd.read_csv(outputs / "submission.csv")
    sample = pd.read_csv(data / "sample_submission.csv")
    assert list(submission.columns) == ["id", target] == list(sample.columns) and submission["id"].equals(sample["id"])

    done = run([sys.executable, "train.py", "--fold", "all", *short], project, tmp_path)
    assert done.returncode == 0 and done.stdout.count("skipped") == 2
    return project


@pytest.mark.parametrize("task", TASKS)
def test_a_cli_bake_cross_validates_predicts_and_its_bundle_predicts_in_the_kaggle_image(task, image, tmp_path):
    project = cross_validate_and_predict(task, tmp_path)
    config, experiment, demo, _ = TASKS[task]
    done = run([sys.executable, "bundle.py", *config], project, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    bundle = project / "bundles" / experiment
    data = project / "data" / "demo" / demo
    in_image = run([str(image), "-c", "import omegaconf"], bundle, tmp_path)
    assert in_image.returncode != 0  # the image lacks it: the bundle's wheels bring it

    # The notebook's first step, then predict.py, with the internet off: only the bundle's wheels.
    wheels = sorted(str(path) for path in (bundle / "wheels").glob("*.whl"))
    assert {Path(wheel).name.split("-")[0] for wheel in wheels} == {"omegaconf", "safetensors"}
    done = run([str(image), "-m", "pip", "install", "--quiet", "--no-index", *wheels], bundle, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    config_file = f"outputs/{experiment}/config.yaml"
    predict = ["predict.py", "--config", config_file, "--data.dir", str(data), "--out", str(tmp_path / "kaggle.csv")]
    done = run([str(image), *predict], bundle, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ours = pd.read_csv(project / "outputs" / experiment / "submission.csv")
    theirs = pd.read_csv(tmp_path / "kaggle.csv")
    assert list(theirs.columns) == list(ours.columns) and theirs.iloc[:, 0].equals(ours.iloc[:, 0])

    # The same predictions as with the project's own libraries, within float tolerance.
    for python, name in ((sys.executable, "ours.npy"), (str(image), "theirs.npy")):
        done = run([python, "-c", PREDICTIONS, config_file, str(data), str(tmp_path / name)], bundle, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    ours, theirs = np.load(tmp_path / "ours.npy"), np.load(tmp_path / "theirs.npy")
    np.testing.assert_allclose(theirs, ours, atol=1e-4)
    versions = run([str(image), "-c", "import torch, timm, transformers; print(torch.__version__)"], bundle, tmp_path)
    assert versions.stdout.startswith("2.10.0")
