"""Embedded demo competitions, written on first use in a Kaggle layout so the project trains offline.

digits: scikit-learn's 1,797 handwritten digits (8x8, real data that ships with scikit-learn), upscaled
to 32x32 PNGs. train.csv (id, label), test.csv (id), sample_submission.csv (id, label), train/, test/.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

DEMO_ROOT = Path("data/demo")
N_TEST = 297  # leaves 1,500 training rows


def write_digits(folder: Path, size: int = 32, seed: int = 0) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    ids = [f"digit_{i:04d}" for i in range(len(order))]
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
    rows = []
    for new_id, index in zip(ids, order, strict=True):
        split = "test" if len(rows) >= len(order) - N_TEST else "train"
        image = (digits.images[index] * (255 / 16)).astype(np.uint8)
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / split / f"{new_id}.png"), image)
        rows.append({"id": new_id, "label": int(digits.target[index]), "split": split})
    table = pd.DataFrame(rows)
    train, test = table[table.split == "train"], table[table.split == "test"]
    train[["id", "label"]].to_csv(folder / "train.csv", index=False)
    test[["id"]].to_csv(folder / "test.csv", index=False)
    test.assign(label=0)[["id", "label"]].to_csv(folder / "sample_submission.csv", index=False)


DEMOS = {DEMO_ROOT / "digits": write_digits}


def ensure_demo(data_dir: str | Path) -> None:
    """Write the demo competition that lives at `data_dir`, if it is one and is not there yet."""
    folder = Path(data_dir)
    writer = DEMOS.get(folder)
    if writer is None or (folder / "train.csv").exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Built in a temporary folder and moved in whole: an interrupted first run leaves no half demo.
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        writer(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Wrote the demo competition to {folder}/")
