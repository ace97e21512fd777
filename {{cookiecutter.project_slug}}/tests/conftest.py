"""Tests run offline on CPU: W&B disabled unless a test asks for it, no update checks, no hub."""

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

_scratch = tempfile.mkdtemp(prefix="tests-wandb-")
for name, value in {
    "WANDB_MODE": "disabled",
    "WANDB_DIR": _scratch,
    "WANDB_CACHE_DIR": _scratch,
    "WANDB_CONFIG_DIR": _scratch,
    "WANDB_DATA_DIR": _scratch,  # where offline runs stage their tables' files
    "WANDB_SILENT": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "MPLBACKEND": "Agg",
}.items():
    os.environ[name] = value

from {{ cookiecutter.module_name }}.config import Config, load_config  # noqa: E402
from {{ cookiecutter.module_name }}.data.demo import write_digits  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "src" / "{{ cookiecutter.module_name }}"


def outputs_and_caches(folder: str, names: list[str]) -> set[str]:
    """What a copy of the project leaves behind: its runs, data and environment (at the top), and caches."""
    top = {"outputs", "data", ".venv", "bundles", "wandb"} if Path(folder) == PROJECT else set()
    return {name for name in names if name in top or name in ("__pycache__", ".pytest_cache")}


def needs(part: str):
    """Skips a test of a part the README says how to remove (ensemble, bench, submission/bundle) once it is gone;
    such a test imports the part inside itself, so the rest of its file still runs."""
    return pytest.mark.skipif(not (PACKAGE / part).is_dir(), reason=f"src/{{ cookiecutter.module_name }}/{part}/ was removed")


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """The digits demo competition, written once for the whole session."""
    folder = tmp_path_factory.mktemp("data") / "digits"
    write_digits(folder)
    return folder


@pytest.fixture(scope="session")
def derived_dir(digits_dir, tmp_path_factory) -> Path:
    """The digits demo with more targets: binary, multilabel and regression, and a group per 'writer'."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("data") / "derived"
    folder.mkdir()
    for name in ("train", "test"):
        (folder / name).symlink_to(digits_dir / name)
    train = pd.read_csv(digits_dir / "train.csv")
    train["is_even"] = (train.label % 2 == 0).map({True: "even", False: "odd"})
    train["even"], train["big"] = (train.label % 2 == 0).astype(int), (train.label > 4).astype(int)
    train["value"] = train.label.astype(float)
    train["writer"] = [f"w{i % 40}" for i in range(len(train))]
    train.to_csv(folder / "train.csv", index=False)
    for name in ("test.csv", "sample_submission.csv"):
        (folder / name).write_text((digits_dir / name).read_text())
    return folder


def make_cfg(data_dir: Path, output_dir: Path, n_folds: int = 5, **trainer) -> Config:
    """The project's vision config on `data_dir`, writing to `output_dir`, quiet, with `trainer` overrides.
    What the config leaves to `auto` is set as train() chooses it for the demo when the epochs are set (32 px,
    the usual stem, no early stopping), so that networks and datasets build without train(); test_auto.py
    tests the choices themselves."""
    base = load_config(PROJECT / "configs" / "vision.yaml")
    return replace(
        base,
        output_dir=str(output_dir),
        data=replace(base.data, dir=str(data_dir), image_size=32),
        model=replace(base.model, small_input=False),
        cv=replace(base.cv, n_folds=n_folds),
        callbacks=replace(base.callbacks, early_stopping_patience=None),
        trainer=replace(
            base.trainer, enable_progress_bar=False, enable_model_summary=False, **{"max_epochs": 5, **trainer}
        ),
    )


# One short epoch: for tests of the runner, not of the score.
TINY = {"max_epochs": 1, "limit_train_batches": 4, "num_sanity_val_steps": 0}


@pytest.fixture
def cfg(digits_dir, tmp_path) -> Config:
    """The demo vision config, small enough to train in seconds on CPU."""
    return make_cfg(digits_dir, tmp_path / "outputs")


@pytest.fixture(scope="session")
def two_folds(digits_dir, tmp_path_factory) -> Config:
    """Two folds of one short epoch, trained once for the tests that predict from them."""
    from {{ cookiecutter.module_name }}.cv.loop import train

    cfg = make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), n_folds=2, **TINY)
    train(cfg, folds=[0, 1])
    return cfg


@pytest.fixture
def tiny(digits_dir, tmp_path) -> Config:
    """Three folds of one short epoch."""
    return make_cfg(digits_dir, tmp_path / "outputs", n_folds=3, **TINY)


def copy_competition(digits_dir: Path, tmp_path: Path) -> Path:
    """The digits competition's tables, to edit, with its image folders linked."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        shutil.copy(digits_dir / name, folder / name)
    for name in ("train", "test"):
        (folder / name).symlink_to(digits_dir / name)
    return folder


def exits_with_one_line(main, argv: list[str], capsys, code: int = 2) -> str:
    """`main(argv)` ends with `code` and one line on stderr (no traceback: an exception would fail the test)."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def predict_from_bundle(bundle: Path, data_dir: Path, out: Path, experiment: str) -> None:
    """Run a Kaggle bundle's predict.py as a notebook would: from the bundle's folder, with only the
    bundle's code on the path, and with Lightning made impossible to import (prediction must not need it)."""
    import subprocess
    import sys

    blocked = bundle.parent / "no-lightning" / "lightning"
    blocked.mkdir(parents=True, exist_ok=True)
    (blocked / "__init__.py").write_text("raise ImportError('predicting must not import lightning')\n")
    env = {**os.environ, "PYTHONPATH": str(blocked.parent)}
    command = ["predict.py", "--config", f"outputs/{experiment}/config.yaml", "--data.dir", str(data_dir)]
    done = subprocess.run(
        [sys.executable, *command, "--out", str(out)], cwd=bundle, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def run_eda(cfg: Config, tmp_path: Path):
    """notebooks/eda.ipynb executed headless (a fresh kernel, the project as its folder) on `cfg`'s data."""
    import nbformat
    from nbclient import NotebookClient

    from {{ cookiecutter.module_name }}.config import save_config

    save_config(cfg, tmp_path / "eda.yaml")
    # The kernel starts with this environment: the config to read, and Jupyter's own inline plots.
    saved = dict(os.environ)
    os.environ["EDA_CONFIG"] = str(tmp_path / "eda.yaml")
    os.environ.pop("MPLBACKEND")
    try:
        notebook = nbformat.read(PROJECT / "notebooks" / "eda.ipynb", as_version=4)
        where = {"metadata": {"path": str(PROJECT)}}  # the kernel's working folder
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources=where).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def notebook_text(notebook) -> str:
    """Everything the executed cells printed."""
    return "\n".join(
        output.get("text", "") + "".join(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
