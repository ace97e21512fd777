"""The images' scikit-learn floor: each image decoded once and shrunk to a few hundred pixels, the features of
a linear model or of gradient boosting."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pandas as pd

from ...config import Config
from ...errors import DataError
from .data import image_paths, read_image

SIDE = 16  # pixels a side: 256 features a channel, enough for a floor and quick to fit


def pixels(cfg: Config, rows: pd.DataFrame, split: str) -> np.ndarray:
    """[rows, SIDE * SIDE * channels] floats in [0, 1], read in threads (decoding releases the GIL)."""

    def shrink(path) -> np.ndarray:
        try:
            image = read_image(path, cfg.model.in_chans)
        except DataError:
            if not cfg.data.skip_bad_rows:
                raise
            return np.zeros(SIDE * SIDE * cfg.model.in_chans, np.uint8)  # a bad test row, predicted from a blank
        return cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA).reshape(-1)

    with ThreadPoolExecutor(8) as pool:
        images = list(pool.map(shrink, image_paths(cfg, rows, split)))
    return np.stack(images).astype(np.float32) / 255.0


def steps(model: str) -> list:
    from sklearn.preprocessing import StandardScaler

    return [StandardScaler()] if model == "linear" else []  # trees need no scaling


def description(cfg: Config) -> str:
    return f"{SIDE}x{SIDE} pixels, {'gray' if cfg.model.in_chans == 1 else 'RGB'}"
