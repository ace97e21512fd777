"""The config's data and cv sections: where the competition's files are, and how its rows are split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from ..run.errors import ConfigError
from .rules import AUTO, auto_or_number, in_range, one_of

DEVICE_AUGMENTS = ("crop", "hflip", "vflip")
PADDINGS = ("dynamic", "max_length")
SPLITTERS = ("kfold", "stratified", "group", "stratified_group", "multilabel")


@dataclass
class DataConfig:
    dir: str = MISSING  # the competition folder: train.csv, test.csv, sample_submission.csv, images
    train_csv: str = "train.csv"
    test_csv: str = "test.csv"
    sample_submission: str = "sample_submission.csv"
    id_col: str = "id"
    target_cols: list[str] = field(default_factory=lambda: ["label"])
    batch_size: int = 64
    # auto: worker processes where loading an epoch is slow enough to pay for them (data/workers.py), else none;
    # or a number (0: load in the main process).
    num_workers: Any = "auto"
    # nlp: one text column, or two for pairs (tokenized together, separated by the tokenizer's token).
    text_cols: list[str] = field(default_factory=lambda: ["text"])
    max_length: int = 256  # tokens; longer texts are truncated
    padding: str = "dynamic"  # dynamic: to the longest text of each batch; max_length: every batch to max_length
    group_by_length: bool = True  # training batches of similar lengths (less padding), still shuffled
    # vision: where a row's image lives, relative to `dir`, filled from the row's columns.
    train_image: str = "train/{id}.png"
    test_image: str = "test/{id}.png"
    image_size: Any = 32  # auto: the training images' median shorter side, at most 384 (auto.py)
    # The decoded-image cache (tasks/vision/cache.py): each image decoded and resized once to 8/7 of image_size,
    # kept in a memory-mapped array every fold and experiment reuses. auto: where the images are larger than
    # that and the cache takes at most a quarter of the free disk; true; false.
    cache: Any = "auto"
    cache_dir: str | None = None  # null: <output_dir>/.cache
    # albumentations pipelines, one {TransformName: {argument: value}} per step. ToTensorV2 is appended when
    # missing. Images stay uint8 to the device, where the network normalizes them (unless a step is Normalize).
    train_transforms: list[dict[str, Any]] = field(default_factory=list)
    valid_transforms: list[dict[str, Any]] = field(default_factory=list)
    # Training augmentation on the network's device, per image, after train_transforms (tasks/vision/device_augment.py):
    # crop (a random share device_crop_scale of the area, resized to image_size), hflip, vflip. With crop,
    # train_transforms only needs to bring every image to one size.
    device_augment: list[str] = field(default_factory=list)
    device_crop_scale: list[float] = field(default_factory=lambda: [0.25, 1.0])
    # Rows whose image is missing, empty, cut short or unreadable, or whose text is empty: false refuses them,
    # naming the first; true leaves such training rows out (counted in the log and in cv.json's left_out_rows)
    # and predicts such test rows from a blank input. Reads every image once to find the unreadable ones.
    skip_bad_rows: bool = False
    # Pseudo-labels (pseudo.py): the name of a finished experiment under output_dir whose test predictions
    # label the test rows, added to the training part of every fold (fold k's from its fold-k models); the
    # validation rows are never touched. Classification keeps the test rows whose labels are at least
    # pseudo_threshold sure (0: all of them), as soft labels.
    pseudo_labels: str | None = None
    pseudo_threshold: float = 0.0

    def check(self) -> None:
        if not 0 <= self.pseudo_threshold < 1:
            raise ConfigError(
                f"config key 'data.pseudo_threshold': {self.pseudo_threshold} is not a probability from 0 up to 1"
            )
        in_range("data.batch_size", self.batch_size, self.batch_size >= 1, "1 or more")
        workers = self.num_workers
        fits = workers == "auto" or (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 0)
        in_range("data.num_workers", workers, fits, "auto, or 0 (load in the main process) or more")
        self.image_size = size = auto_or_number("data.image_size", self.image_size, int)
        in_range(
            "data.image_size", size, size == AUTO or size >= 1, "auto, or the side in pixels images are resized to"
        )
        in_range("data.max_length", self.max_length, self.max_length >= 1, "the most tokens a text keeps, 1 or more")
        one_of("data.padding", self.padding, PADDINGS)
        one_of("data.cache", self.cache, ("auto", True, False))
        for step in self.device_augment:
            one_of("data.device_augment", step, DEVICE_AUGMENTS)
        scale = self.device_crop_scale
        fits = len(scale) == 2 and 0 < scale[0] <= scale[1] <= 1
        in_range("data.device_crop_scale", scale, fits, "[low, high] with 0 < low <= high <= 1")


@dataclass
class CVConfig:
    n_folds: int = 5
    # kfold, stratified (on the target), group (no group in two folds), stratified_group, multilabel
    # (iterative stratification of several 0/1 targets)
    splitter: str = "stratified"
    group_col: str | None = None  # group and stratified_group: rows sharing this value stay in one fold
    seed: int | None = None  # the split's seed; null: the config's seed (seed runs keep their experiment's)
    folds_dir: str | None = (
        None  # where the folds file is kept; null: beside the data (set it when data.dir is read-only)
    )

    def split_seed(self, seed: int) -> int:
        """The seed the folds are split with, where the config's own seed is `seed`."""
        return seed if self.seed is None else self.seed

    @property
    def by_group(self) -> bool:
        return self.splitter in ("group", "stratified_group")

    def check(self) -> None:
        one_of("cv.splitter", self.splitter, SPLITTERS)
        if self.by_group and not self.group_col:
            raise ConfigError(f"config key 'cv.group_col': the {self.splitter} splitter needs the column of groups")
        if self.n_folds < 2:
            raise ConfigError(f"config key 'cv.n_folds': {self.n_folds} folds cannot cross-validate; use 2 or more")
        if self.seed is not None:
            in_range("cv.seed", self.seed, 0 <= self.seed < 2**32, "a whole number from 0 to 4294967295, or null")
