"""The Kaggle notebook that predicts with a bundle (kernel/inference.py), and its metadata for `kaggle kernels push`."""

from __future__ import annotations

import json
from pathlib import Path

from ...config import Config
from ...run import layout

KERNEL = '''"""Kaggle notebook (internet off): the test set's predictions from the attached dataset {dataset}."""

import subprocess
import sys
from pathlib import Path


def find(name: str) -> Path:
    """The attached input folder that holds `name` (Kaggle mounts inputs one to three levels deep)."""
    for depth in range(1, 4):
        for folder in sorted(Path("/kaggle/input").glob("*/" * depth)):
            if (folder / name).exists():
                return folder
    raise FileNotFoundError("no attached input holds " + name + ": add the dataset and the competition")


bundle, data = find({config}), find({sample})
# What the image lacks, from the bundle's own wheels (the internet is off); the rest is the image's.
wheels = sorted(str(wheel) for wheel in (bundle / "wheels").glob("*.whl"))
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", *wheels], check=True)
command = [sys.executable, "predict.py", "--config", {config}, "--data.dir", str(data)]
subprocess.run([*command, "--out", "/kaggle/working/submission.csv"], cwd=bundle, check=True)
'''


def write_kernel(cfg: Config, bundled: Config, kernel: Path, dataset: str, title: str, competition: str) -> None:
    """The notebook that predicts with the bundle, and its metadata for `kaggle kernels push`."""
    kernel.mkdir()
    config = (bundled.experiment_dir / layout.CONFIG).as_posix()
    # Values reach the notebook's code as JSON string literals (valid Python), never as code.
    code = KERNEL.format(dataset=dataset, config=json.dumps(config), sample=json.dumps(cfg.data.sample_submission))
    (kernel / "inference.py").write_text(code)
    kernel_metadata = {
        "id": f"{dataset}-inference",
        "title": f"{title[:40]} inference",
        "code_file": "inference.py",
        "language": "python",
        "kernel_type": "script",
        "is_private": True,
        "enable_gpu": True,
        "machine_shape": "NvidiaTeslaT4",  # T4 x2; the CLI's bare GPU is the P100, which Kaggle retires
        "enable_internet": False,
        "dataset_sources": [dataset],
        "competition_sources": [competition] if competition else [],
        "kernel_sources": [],
        "model_sources": [],
    }
    (kernel / "kernel-metadata.json").write_text(json.dumps(kernel_metadata, indent=2) + "\n")
