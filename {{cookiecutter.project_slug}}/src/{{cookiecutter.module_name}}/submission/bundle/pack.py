"""An experiment packed for a Kaggle notebook that predicts with the internet off.

bundles/<experiment>/ holds what predict.py needs and nothing it must download: the package's code and
predict.py, each trained fold's plain weights (model.safetensors; with `seeds`, every seed's) and the
experiment's config, for texts the tokenizer and config.json of the model, and wheels/: what Kaggle's notebook
image lacks (omegaconf) or must have at our version (safetensors), installed with
`pip install --no-index --find-links`. Prediction runs on the image's own torch,
timm{% if cookiecutter.task != "vision" %}, transformers{% endif %} and albumentations. It becomes a Kaggle dataset with
`kaggle datasets create -p bundles/<experiment> --dir-mode zip`; its kernel/ folder is a notebook that runs
it (`kaggle kernels push -p bundles/<experiment>/kernel`), which is, in any notebook:

    !cd /kaggle/input/<dataset> && python predict.py --config outputs/<experiment>/config.yaml \\
        --data.dir /kaggle/input/<competition> --out /kaggle/working/submission.csv
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

from ...config import Config, save_config
from ...cv import seeds
from ...cv.state import prediction_models
from ...run import layout
from ...run.errors import UserError
from ...run.io import umask
from ...tasks import get_task
from ..kaggle import COMPETITION, username
from .kernel import write_kernel

PROJECT = Path(__file__).resolve().parents[4]  # holds predict.py and src/
PACKAGE = Path(__file__).resolve().parents[2]

# Kaggle's notebook image brings its own torch, timm, transformers, albumentations, pandas and numpy; these
# it lacks (omegaconf), or has at another version than the one the weights were written with (safetensors).
WHEELHOUSE = ("omegaconf", "safetensors")
KAGGLE_WHEELS = ["--platform", "manylinux2014_x86_64", "--python-version", "3.12", "--implementation", "cp"]


def download_wheels(folder: Path) -> None:
    """wheels/: WHEELHOUSE at this project's versions, built for Kaggle's Linux and Python (from PyPI)."""
    pins = [f"{name}=={version(name)}" for name in WHEELHOUSE]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *KAGGLE_WHEELS]
    done = subprocess.run([*command, "--dest", str(folder / "wheels"), *pins], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise UserError(f"the bundle's wheels ({' '.join(pins)}) did not download from PyPI: {reason}")


def slug(text: str) -> str:
    """A Kaggle dataset or kernel slug: lower-case ASCII letters, digits and hyphens. Where letters of another
    script are dropped, a short hash of the whole text follows, so that two such names never share a slug."""
    ascii_part = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if text.isascii():
        return ascii_part
    return f"{ascii_part}-{hashlib.sha1(text.encode()).hexdigest()[:8]}".strip("-")


def bundled_config(cfg: Config) -> Config:
    """The config as the bundle uses it: paths inside the bundle, no pretrained weights to look for."""
    return replace(cfg, model=get_task(cfg).bundled_model(cfg), output_dir="outputs")


def write_bundle(cfg: Config, folder: Path, competition: str, user: str) -> None:
    shutil.copy2(PROJECT / "predict.py", folder / "predict.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, folder / "src" / PACKAGE.name, ignore=ignore)
    bundled = bundled_config(cfg)
    save_config(bundled, folder / bundled.experiment_dir / layout.CONFIG)
    for run, bundled_run in zip(seeds.runs(cfg), seeds.runs(bundled), strict=True):  # with seeds, each seed's
        for k in prediction_models(run):  # the folds, the refit or both, as predict_with says
            (folder / bundled_run.fold_dir(k)).mkdir(parents=True)
            shutil.copy2(run.fold_dir(k) / layout.WEIGHTS, folder / bundled_run.fold_dir(k) / layout.WEIGHTS)
    get_task(cfg).write_bundle_files(cfg, bundled, folder)
    pins = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    (folder / "requirements.txt").write_text("\n".join(pins) + "\n")
    download_wheels(folder)
    dataset = f"{user}/{slug(f'{PROJECT.name}-{cfg.experiment}')}"
    title = f"{PROJECT.name} {cfg.experiment}"[:50]
    metadata = {"title": title, "id": dataset, "licenses": [{"name": "CC0-1.0"}]}
    (folder / "dataset-metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    write_kernel(cfg, bundled, folder / "kernel", dataset, title, competition)


def make_bundle(cfg: Config, folder: Path | None = None, competition: str = COMPETITION) -> Path:
    """Write bundles/<experiment>/ (or `folder`) whole, replacing an older one; return it."""
    if competition and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", competition):
        raise UserError(f"--competition {competition!r} is not a Kaggle slug (lower-case letters, digits and '-')")
    folder = Path(folder or Path("bundles") / cfg.experiment)
    # A Kaggle user name is letters, digits, '-' and '_'; nothing else may reach the notebook's code.
    user = re.sub(r"[^A-Za-z0-9_-]", "", username() or "") or "your-kaggle-username"
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        write_bundle(cfg, tmp, competition, user)
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp's 0700 would hide the bundle from the team
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
