"""What the project asks of the Kaggle CLI (2.x): the user's name, and the leaderboard scores of its submissions.

The CLI logs in with `kaggle auth login` (~/.kaggle/credentials.json), an access token (KAGGLE_API_TOKEN or
~/.kaggle/access_token) or, the legacy way, kaggle.json or KAGGLE_USERNAME and KAGGLE_KEY. The project never
reads a key or a token: only the name, which the bundle's metadata needs, and what the CLI prints.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

COMPETITION = "{{ cookiecutter.competition }}"  # the Kaggle slug answered when baking; may be empty
TIMEOUT_S = 20  # the CLI logs in over the network; offline, report.py goes on without the scores


def cli() -> str | None:
    """The `kaggle` command: the project's environment's (make setup installs it), else the PATH's."""
    beside = Path(sys.executable).with_name("kaggle")
    return str(beside) if beside.is_file() else shutil.which("kaggle")


def config_dir() -> Path:
    """Where the CLI keeps kaggle.json: KAGGLE_CONFIG_DIR, else ~/.kaggle, else (Linux) the XDG folder."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    home = Path.home() / ".kaggle"
    if home.exists() or not sys.platform.startswith("linux"):
        return home
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"


def username() -> str | None:
    """The Kaggle user name of the login the CLI uses, in its order: KAGGLE_USERNAME, an access token (whose
    name the CLI asks Kaggle for), the legacy kaggle.json, then `kaggle auth login`'s credentials.json."""
    if os.environ.get("KAGGLE_USERNAME"):
        return os.environ["KAGGLE_USERNAME"]
    home = Path.home() / ".kaggle"
    tokens = [home / "access_token", home / "access_token.txt"]
    if os.environ.get("KAGGLE_API_TOKEN") or any(path.is_file() for path in tokens):
        done = run_cli(["config", "view"])
        found = re.search(r"^- username: (\S+)", done.stdout if done else "", re.M)
        return found.group(1) if found else None
    for path in (config_dir() / "kaggle.json", home / "credentials.json"):
        try:
            name = json.loads(path.read_text()).get("username")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(name, str) and name:  # a hand-edited file may hold a number or null
            return name
    return None


def run_cli(args: list[str]) -> subprocess.CompletedProcess | None:
    """The CLI's output, or None where it is missing, fails or takes too long (offline, no credentials)."""
    command = cli()
    if command is None:
        return None
    try:
        done = subprocess.run([command, *args], capture_output=True, text=True, timeout=TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done if done.returncode == 0 else None


def leaderboard_scores(competition: str) -> dict[str, list[float]] | None:
    """The public scores of the competition's submissions by message (`make submit` sends the experiment's
    name), or None where the CLI cannot list them."""
    done = run_cli(["competitions", "submissions", competition, "--csv", "--page-size", "200"])  # not the last 20
    if done is None:
        return None
    # The CLI may print a warning line or two before the table.
    lines = done.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("ref,")), None)
    if start is None:
        return None
    scores: dict[str, list[float]] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines[start:]))):
        try:
            score = float(row.get("publicScore") or "")
        except ValueError:
            continue  # pending or failed
        scores.setdefault(row.get("description") or "", []).append(score)
    return {message: values for message, values in scores.items() if message}
