"""What a fold was trained with, written beside its config: the project's git commit and whether the tree
had changes not committed, the main libraries' versions, and how the config differs from the task's own
configs/<task>.yaml (config.load.changes_from_shipped, handed in). report.py shows the commits;
`report.py --details <experiment>` shows the rest.
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]  # holds train.py, configs/ and src/
LIBRARIES = ("torch", "lightning", "timm", "transformers", "tokenizers", "albumentations", "scikit-learn", "numpy")


def git_state() -> dict:
    """The commit checked out and whether any file differs from it (untracked files count: a new config or
    module is a change too); None for both outside a git repository or without git."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def write_provenance(path: Path, config_changes: list[str] | None) -> None:
    """provenance.json at `path`: the commit, the libraries, and `config_changes` ('key: default -> value')."""
    record = {**git_state(), "versions": library_versions(), "config_changes": config_changes}
    path.write_text(json.dumps(record, indent=2) + "\n")


def read_provenance(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
