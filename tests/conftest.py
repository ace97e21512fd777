"""Bake the template with pytest-cookies; the baked projects' own tests run with this interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
TASKS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["task"]


def offline_env(tmp_path: Path) -> dict[str, str]:
    """The environment a baked project runs in here: offline, W&B and caches kept in a temporary folder."""
    return {
        **os.environ,
        "WANDB_MODE": "disabled",
        "WANDB_DIR": str(tmp_path),
        "WANDB_CACHE_DIR": str(tmp_path),
        "WANDB_CONFIG_DIR": str(tmp_path),
        "WANDB_DATA_DIR": str(tmp_path),
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "HF_HUB_OFFLINE": "1",
        "MPLBACKEND": "Agg",
    }


def run(command: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=offline_env(tmp_path), capture_output=True, text=True)


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture(params=TASKS)
def baked(request, cookies):
    """A project baked with the default answers and each task choice."""
    result = cookies.bake(extra_context={"task": request.param})
    assert result.exit_code == 0, result.exception
    return result
