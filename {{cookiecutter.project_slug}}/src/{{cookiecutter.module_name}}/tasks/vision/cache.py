"""The decoded-image cache: each image decoded and resized once, into a uint8 memory-mapped array that every
fold and experiment reuses, so augmentation starts from pixels in memory instead of a JPEG.

<cache dir>/images-<key>.npy holds [rows, side, side, channels] uint8 for every row of train.csv,
and images-<key>-ok.npy which rows decoded. The key hashes each image file's path, size, modification and change
times, the side and the channels: a changed file, size or channel count makes a new cache (delete old ones by
hand).
The side is 8/7 of data.image_size (256 for 224), so random crops keep pixels to take; images are resized to
a square, as the default pipeline's Resize does. Disk: rows x side x side x channels bytes (20,000 RGB
images at 224 px: 3.9 GB).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from ...config import Config
from ...data.tables import read_csv
from ...run import layout
from ...run.errors import DataError
from ...run.io import refused_writes
from .data import image_paths, read_image

VERSION = 1  # of the cache's layout: a new version makes new caches
DISK_SHARE = 0.25  # auto: the cache may take at most this share of the free disk


def cache_side(image_size: int) -> int:
    return -(-image_size * 8 // 7)


def cache_key(paths: list[Path], side: int, channels: int) -> str:
    digest = hashlib.sha1(f"v{VERSION} {side} {channels}".encode())
    for path in paths:
        try:
            stat = path.stat()
            # ctime too, as git's index does: a copy that keeps times (cp -p, rsync -a, unzip) can change the
            # pixels and keep the size and the mtime, but no copy can set the ctime back.
            digest.update(f"\n{path}\t{stat.st_size}\t{stat.st_mtime_ns}\t{stat.st_ctime_ns}".encode())
        except OSError:
            digest.update(f"\n{path}\tmissing".encode())
    return digest.hexdigest()[:16]


def decode(path: Path, side: int, channels: int) -> np.ndarray | None:
    """The image as side x side x channels uint8, or None when it does not read."""
    try:
        image = read_image(path, channels)
    except DataError:
        return None
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA).reshape(side, side, channels)


def build(paths: list[Path], side: int, channels: int, target: Path) -> None:
    """Decode every image in parallel (OpenCV decodes outside the GIL) into `target`, written whole or not at all."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with refused_writes(target, len(paths) * side * side * channels):
            images = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), side, side, channels))
            reserve(tmp)
        fill(images, paths, side, channels, target)
    finally:
        tmp.unlink(missing_ok=True)


def reserve(path: Path) -> None:
    """The disk space of the whole file, taken now: a memory map on a full disk would crash the process (SIGBUS)
    at the first page it could not store, instead of raising an error."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # where the filesystem cannot
            raise
    finally:
        os.close(fd)


def fill(images: np.ndarray, paths: list[Path], side: int, channels: int, target: Path) -> None:
    tmp = Path(images.filename)
    ok = np.zeros(len(paths), dtype=bool)
    with refused_writes(target):
        with ThreadPoolExecutor() as pool:
            decoded = pool.map(lambda path: decode(path, side, channels), paths)
            for row, image in enumerate(tqdm(decoded, total=len(paths), desc=f"caching images at {side} px")):
                if image is not None:
                    images[row], ok[row] = image, True
        images.flush()
        np.save(target.with_name(f"{target.stem}-ok.npy"), ok)
        os.replace(tmp, target)  # last: the cache exists once it is whole


class ImageCache:
    """The cached images of one table, by path; opened in each process that reads it (a DataLoader worker
    too), never pickled whole."""

    def __init__(self, path: Path, paths: list[Path]):
        self.path, self.rows = path, {p: row for row, p in enumerate(paths)}
        self.ok = np.load(path.with_name(f"{path.stem}-ok.npy"))
        self._images: np.ndarray | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}

    def get(self, path: Path) -> np.ndarray | None:
        """The cached pixels of `path` (a copy), or None when it did not decode or is not train.csv's (a
        pseudo-labelled test image): then it is read from its file."""
        row = self.rows.get(path)
        if row is None or not self.ok[row]:
            return None
        if self._images is None:
            self._images = np.load(self.path, mmap_mode="r")
        return np.array(self._images[row])


def fits(rows: int, side: int, channels: int, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return rows * side * side * channels <= DISK_SHARE * shutil.disk_usage(folder).free


def open_cache(cfg: Config, split: str) -> ImageCache | None:
    """The cache of train.csv's images for the train and valid splits, built on first use. None for test, and
    when data.cache is false, or auto and the images are no larger than the cache's side or the cache would
    take more than a quarter of the free disk."""
    d = cfg.data
    if d.cache is False or split == "test":  # test images are read once per fold: only training repeats epochs
        return None
    table = read_csv(Path(d.dir) / d.train_csv)
    paths = image_paths(cfg, table, split)
    side, channels = cache_side(d.image_size), cfg.model.in_chans
    folder = layout.cache_dir(cfg.output_dir, d.cache_dir)
    if d.cache == "auto" and not (worth_caching(paths, side) and fits(len(paths), side, channels, folder)):
        return None
    target = folder / f"images-{cache_key(paths, side, channels)}.npy"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        build(paths, side, channels, target)
    return ImageCache(target, paths)


def worth_caching(paths: list[Path], side: int, sample: int = 8) -> bool:
    """auto: cache where the images are larger than the cache keeps (the median shorter side of a few of them,
    spread over the table), so that decoding and shrinking them every epoch is work the cache saves."""
    picked = [paths[index * len(paths) // sample] for index in range(min(sample, len(paths)))]
    sides = []
    for path in picked:
        try:
            sides.append(min(read_image(path, 1).shape[:2]))
        except DataError:
            continue
    return bool(sides) and float(np.median(sides)) > side
