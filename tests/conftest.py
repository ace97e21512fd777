"""Bake the template with pytest-cookies; the baked projects' own tests run with this interpreter."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
TASKS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["task"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
# The both bake's own suite is by far the longest test, and keeps about one and a half of the two cores busy: it
# starts in the background once collected, beside the other tests, and its test waits for it (suite_beside).
BESIDE = "test_baked_project_tests_pass[both]"
_beside: dict[str, tuple[subprocess.Popen, Path]] = {}


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


def pytest_collection_modifyitems(items):
    """The test that waits for the both bake's suite runs last, so that every other test runs beside that suite."""
    items.sort(key=lambda item: item.name == BESIDE)


def pytest_collection_finish(session):
    if session.config.option.collectonly or not any(item.name == BESIDE for item in session.items):
        return
    from cookiecutter.main import cookiecutter

    folder = Path(tempfile.mkdtemp(prefix="both-suite-"))
    project = cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(folder), extra_context={"task": "both"})
    log = folder / "suite.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            PYTEST, cwd=project, env=offline_env(folder), stdout=out, stderr=subprocess.STDOUT, text=True
        )
    _beside["both"] = (process, log)


def pytest_sessionfinish(session):
    for process, _ in _beside.values():
        if process.poll() is None:
            process.kill()


def suite_beside(task: str) -> subprocess.CompletedProcess:
    """The outcome of the `task` bake's whole suite, started in the background when it was collected."""
    process, log = _beside[task]
    return subprocess.CompletedProcess(process.args, process.wait(), stdout=log.read_text(), stderr="")
