"""What a fold was trained with, written beside its config: the project's git commit and whether the tree
had changes not committed, the main libraries' versions, and how the config differs from the task's own
configs/<task>.yaml. report.py shows the commits; `report.py --details <experiment>` shows the rest.
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .config import Config, ConfigError, config_changes, shipped_config

PROJECT = Path(__file__).resolve().parents[2]  # holds train.py, configs/ and src/
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


def changes_from_default(cfg: Config) -> list[str] | None:
    """'key: default -> value' for each key that differs from the task's shipped config (the auto values
    show what they were chosen as); None when that file is gone or does not read."""
    try:
        return config_changes(cfg, PROJECT / shipped_config(cfg))
    except (OSError, ConfigError):
        return None


def write_provenance(cfg: Config, path: Path) -> None:
    record = {**git_state(), "versions": library_versions(), "config_changes": changes_from_default(cfg)}
    path.write_text(json.dumps(record, indent=2) + "\n")


def read_provenance(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
