"""The Kaggle bundle predicts in a stand-in for Kaggle's notebook image: other versions of torch, timm and
transformers than the project's pins, no omegaconf, another safetensors, and no package index, only the
bundle's own wheels; and its predictions are the project's, within float tolerance."""

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
TASKS = {  # task: (train.py's config flags, experiment)
    "vision": ([], "vision_baseline"),
    "nlp": (["--config", "configs/nlp.yaml"], "nlp_baseline"),
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


@pytest.mark.parametrize("task", TASKS)
def test_the_bundle_predicts_with_the_images_libraries_and_its_own_wheels(task, image, tmp_path):
    subprocess.run(
        [
            str(Path(sys.executable).with_name("cookiecutter")),
            "--no-input",
            "-o",
            str(tmp_path),
            str(TEMPLATE),
            f"task={task}",
        ],
        check=True,
        capture_output=True,
    )
    project = tmp_path / "kaggle-baseline"
    config, experiment = TASKS[task]
    short = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "3", "--cv.n_folds", "2"]
    for command in (["train.py", "--fold", "all", *config, *short], ["predict.py", *config], ["bundle.py", *config]):
        done = run([sys.executable, *command], project, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    bundle = project / "bundles" / experiment
    data = project / "data" / "demo" / ("digits" if task == "vision" else "docstrings")
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
