"""Tests run offline on CPU: W&B disabled unless a test asks for it, no update checks, no hub."""

import os
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
    "WANDB_SILENT": "true",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "MPLBACKEND": "Agg",
}.items():
    os.environ[name] = value

from {{ cookiecutter.module_name }}.config import Config, load_config  # noqa: E402
from {{ cookiecutter.module_name }}.demo import write_digits  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """The digits demo competition, written once for the whole session."""
    folder = tmp_path_factory.mktemp("data") / "digits"
    write_digits(folder)
    return folder


@pytest.fixture
def cfg(digits_dir, tmp_path) -> Config:
    """The project's vision config on the demo data, small enough to train in seconds on CPU."""
    base = load_config(PROJECT / "configs" / "vision.yaml")
    return replace(
        base,
        output_dir=str(tmp_path / "outputs"),
        data=replace(base.data, dir=str(digits_dir)),
        trainer=replace(base.trainer, enable_progress_bar=False, enable_model_summary=False),
    )
