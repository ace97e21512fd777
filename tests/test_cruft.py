"""A project baked with plain cookiecutter takes in the template's later commits with cruft."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import TEMPLATE

BIN = Path(sys.executable).parent


def git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=folder, check=True, capture_output=True, text=True).stdout.strip()


def cruft(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cruft"), *args], cwd=project, capture_output=True, text=True)


def test_a_plain_cookiecutter_bake_takes_in_the_templates_next_commit(tmp_path):
    template = tmp_path / "template"  # this template's working tree, as a git repository of its own
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns(".git", ".venv", "demo", "__pycache__"))
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-qm", "first")
    first = git(template, "rev-parse", "HEAD")
    baked = subprocess.run(
        [str(BIN / "cookiecutter"), "--no-input", "-o", str(tmp_path / "out"), str(template), "task=vision"],
        capture_output=True,
        text=True,
    )
    assert baked.returncode == 0, baked.stderr
    project = tmp_path / "out" / "kaggle-baseline"
    state = json.loads((project / ".cruft.json").read_text())
    assert (state["template"], state["commit"]) == (str(template), first)
    answers = state["context"]["cookiecutter"]
    assert answers["task"] == "vision" and "_output_dir" not in answers  # the answers, not where it was baked
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "baked")
    done = cruft(project, "check")
    assert done.returncode == 0, done.stdout + done.stderr  # up to date

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA line from the template's next commit.\n")
    git(template, "commit", "-qam", "second")
    assert cruft(project, "check").returncode != 0  # the template has moved on
    done = cruft(project, "update", "--skip-apply-ask")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "README.md").read_text().endswith("A line from the template's next commit.\n")
    assert json.loads((project / ".cruft.json").read_text())["commit"] == git(template, "rev-parse", "HEAD")
    assert cruft(project, "check").returncode == 0
