"""The decoded-image cache: built once, read by every fold, rebuilt when an image changes, on by default only
where the images are larger than what training uses."""

import os
import shutil
from dataclasses import replace

import cv2
import numpy as np
from conftest import TINY, make_cfg

from {{ cookiecutter.module_name }}.cv.fold import build_fold
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.tasks.vision import cache


def cached(cfg, value=True):
    return replace(cfg, data=replace(cfg.data, cache=value))


def test_the_cache_is_built_once_and_every_fold_reads_its_decoded_pixels(tiny, monkeypatch):
    builds = []
    build = cache.build
    monkeypatch.setattr(cache, "build", lambda *args: (builds.append(args[-1]), build(*args)))
    cfg = cached(tiny)
    competition = load_competition(cfg)
    first = build_fold(cfg, competition, 0).data
    second = build_fold(cfg, competition, 1).data
    assert len(builds) == 1 and builds[0].exists()  # one cache for train.csv, made by the first fold
    assert first.train_set.cache.path == second.valid_set.cache.path == builds[0]
    assert not [path for path in builds[0].parent.iterdir() if path.name.endswith(".tmp")]
    path = first.train_set.paths[0]
    side = cache.cache_side(cfg.data.image_size)
    expected = cv2.resize(
        cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), (side, side), interpolation=cv2.INTER_AREA
    )
    np.testing.assert_array_equal(first.train_set.cache.get(path), expected)
    assert np.load(builds[0], mmap_mode="r").shape == (1500, side, side, 3)  # every row of train.csv


def test_a_changed_image_makes_a_new_cache(digits_dir, tmp_path):
    data = tmp_path / "digits"
    shutil.copytree(digits_dir, data)
    cfg = cached(make_cfg(data, tmp_path / "outputs", n_folds=3))
    before = cache.open_cache(cfg, "train")
    path = next(iter(before.rows))
    cv2.imwrite(str(path), np.full((32, 32, 3), 255, dtype=np.uint8))  # a white image where a digit was
    after = cache.open_cache(cfg, "train")
    assert after.path != before.path
    assert (after.get(path) == 255).all() and not (before.get(path) == 255).all()


def test_an_image_replaced_by_a_copy_that_keeps_its_size_and_time_makes_a_new_cache(digits_dir, tmp_path):
    """cp -p, rsync -a or unzip can change the pixels and keep the size and the mtime: the ctime still changes."""
    data = tmp_path / "digits"
    shutil.copytree(digits_dir, data)
    cfg = cached(make_cfg(data, tmp_path / "outputs", n_folds=3))
    before = cache.open_cache(cfg, "train")
    by_size = {}
    for path in before.rows:
        by_size.setdefault(path.stat().st_size, []).append(path)
    one, other = next(paths[:2] for paths in by_size.values() if len(paths) > 1 and not np.array_equal(
        cv2.imread(str(paths[0])), cv2.imread(str(paths[1]))))  # fmt: skip
    times = one.stat()
    shutil.copyfile(other, one)  # other pixels, the same number of bytes
    os.utime(one, ns=(times.st_atime_ns, times.st_mtime_ns))  # and the old mtime, as cp -p keeps it
    assert one.stat().st_size == times.st_size and one.stat().st_mtime_ns == times.st_mtime_ns
    after = cache.open_cache(cfg, "train")
    assert after.path != before.path
    np.testing.assert_array_equal(after.get(one), after.get(other))
    assert not np.array_equal(before.get(one), after.get(one))


def test_auto_caches_images_larger_than_training_uses_and_not_the_demos(cfg, tmp_path):
    assert cache.open_cache(cfg, "train") is None  # 32-pixel digits: nothing to save
    paths = []
    for index in range(4):
        paths.append(tmp_path / f"{index}.jpg")
        cv2.imwrite(str(paths[-1]), np.random.default_rng(index).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    assert cache.worth_caching(paths, side=cache.cache_side(64))
    assert not cache.worth_caching(paths, side=cache.cache_side(224))
    assert cache.cache_side(224) == 256


def test_a_fold_trains_and_predicts_from_the_cache(digits_dir, tmp_path):
    cfg = cached(make_cfg(digits_dir, tmp_path / "outputs", n_folds=3, **TINY))
    score = train(cfg, folds=[0])["folds"][0]
    assert 0 <= score <= 1
    assert len(list((tmp_path / "outputs" / ".cache").glob("images-*-ok.npy"))) == 1
