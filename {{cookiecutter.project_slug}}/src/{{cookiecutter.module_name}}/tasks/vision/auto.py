"""The images' `auto` choices (auto.py runs them): the side they train at, read from the images themselves,
and a ResNet stem that keeps small images' detail."""

from __future__ import annotations

import statistics

import pandas as pd
from PIL import Image, UnidentifiedImageError

from ...config import Config
from ...run.errors import DataError
from .data import image_paths
from .models import has_pool_stem

MAX_SIDE = 384  # larger photos train at this side unless data.image_size says otherwise
SAMPLE = 200  # images whose sizes are read (headers only)
SMALL = 32  # below this side the usual 4x stem leaves the first stage under 8 px


def image_size(cfg: Config, competition) -> tuple[int, str]:
    rows: pd.DataFrame = competition.train
    picked = rows.iloc[:: max(1, len(rows) // SAMPLE)].head(SAMPLE)
    sides = []
    for path in image_paths(cfg, picked, "train"):
        try:
            with Image.open(path) as image:  # reads the header, not the pixels
                sides.append(min(image.size))
        except (OSError, UnidentifiedImageError):
            if not cfg.data.skip_bad_rows:
                raise DataError(
                    f"image {path} does not read, so data.image_size: auto cannot measure it: fix or replace it, "
                    "set data.skip_bad_rows: true, or set data.image_size"
                ) from None
    if not sides:
        raise DataError(f"none of {len(picked)} training images reads: data.image_size: auto has nothing to measure")
    side = int(statistics.median(sides))
    why = f"the median shorter side of {len(sides)} training images is {side} px"
    return (min(side, MAX_SIDE), f"{why}; at most {MAX_SIDE} unless set") if side > MAX_SIDE else (side, why)


def small_input(cfg: Config, competition) -> tuple[bool, str]:
    size, name = cfg.data.image_size, cfg.model.name
    if size >= SMALL:
        return False, f"{size} px is not below {SMALL} px"
    if not has_pool_stem(name):
        return False, f"{name} has no stem max-pool to take out"
    return True, f"{size} px: the stem's max-pool is taken out, so the first stage sees {size // 2} px"


CHOICES = [("data.image_size", image_size), ("model.small_input", small_input)]
