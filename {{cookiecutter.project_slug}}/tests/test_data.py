import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.run.errors import DataError
from {{ cookiecutter.module_name }}.tasks.vision.data import read_image


def test_demo_is_a_kaggle_layout(digits_dir):
    train = pd.read_csv(digits_dir / "train.csv")
    test = pd.read_csv(digits_dir / "test.csv")
    sample = pd.read_csv(digits_dir / "sample_submission.csv")
    assert list(train.columns) == ["id", "label"] and list(sample.columns) == ["id", "label"]
    assert len(train) == 1500 and len(test) == 297
    assert sample["id"].tolist() == test["id"].tolist()
    assert not set(train["id"]) & set(test["id"])
    assert sorted(train["label"].unique()) == list(range(10))
    for split, table in (("train", train), ("test", test)):
        assert all((digits_dir / split / f"{i}.png").is_file() for i in table["id"])
    assert read_image(digits_dir / "train" / f"{train['id'][0]}.png").shape == (32, 32, 3)


def test_missing_column_names_the_file_and_column(cfg):
    with pytest.raises(ValueError, match=r"train.csv has no column 'target'"):
        load_competition(replace(cfg, data=replace(cfg.data, target_cols=["target"])))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_images_load_as_rgb_whatever_their_channels(tmp_path, channels):
    pixels = np.random.default_rng(0).integers(0, 255, (8, 6, channels), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "x.png"), pixels if channels > 1 else pixels[..., 0])
    image = read_image(tmp_path / "x.png")
    assert image.shape == (8, 6, 3) and image.dtype == np.uint8
    if channels == 1:
        assert (image == pixels).all()  # gray copied to every channel
    else:
        assert (image[..., 0] == pixels[..., 2]).all()  # BGR(A) on disk, RGB in memory


def test_missing_or_corrupt_image_names_the_file(tmp_path):
    with pytest.raises(DataError, match=r"gone\.png does not exist"):
        read_image(tmp_path / "gone.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png is not a readable image"):
        read_image(tmp_path / "broken.png")


def test_workers_do_not_replay_each_others_augmentations(cfg):
    from torch.utils.data import DataLoader

    from {{ cookiecutter.module_name }}.tasks.vision.data import ImageDataset, build_transforms, seed_worker

    path = f"{cfg.data.dir}/train/" + pd.read_csv(f"{cfg.data.dir}/train.csv")["id"][0] + ".png"
    steps = [{"Affine": {"rotate": [-30, 30], "p": 1.0}}]
    dataset = ImageDataset([Path(path)] * 4, None, build_transforms(steps, "k", 32, seed=0))
    loader = DataLoader(dataset, batch_size=1, num_workers=2, worker_init_fn=seed_worker)
    images = [batch["image"] for batch in loader]  # items 0, 2 from worker 0; items 1, 3 from worker 1
    assert not torch.equal(images[0], images[1])


def test_training_drops_the_odd_last_batch_and_validation_keeps_every_row(cfg):
    from {{ cookiecutter.module_name }}.cv.fold_data import FoldDataModule
    from {{ cookiecutter.module_name }}.tasks import get_task

    cfg = replace(cfg, data=replace(cfg.data, batch_size=64))
    net = SimpleNamespace(mean_std=((0.5,) * 3, (0.5,) * 3))  # all the image datasets ask of the network
    data = FoldDataModule(cfg, get_task(cfg), load_competition(cfg), 0, net)
    assert len(data.train_rows) % 64  # there is an odd last batch to drop
    assert {len(batch["target"]) for batch in data.train_dataloader()} == {64}
    assert sum(len(batch["target"]) for batch in data.val_dataloader()) == len(data.valid_rows)


class Loading:
    """A dataset whose items take `seconds` each to load, as a decoded JPEG does."""

    def __init__(self, rows: int, seconds: float):
        self.rows, self.seconds = rows, seconds

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, index: int) -> int:
        time.sleep(self.seconds)
        return index


def test_auto_workers_load_slow_data_in_parallel_and_tiny_data_in_the_main_process(cfg, monkeypatch, capsys):
    from {{ cookiecutter.module_name }}.cv.fold_data import FoldDataModule
    from {{ cookiecutter.module_name }}.data import workers
    from {{ cookiecutter.module_name }}.tasks import get_task

    monkeypatch.setattr(workers, "usable_cpus", lambda: 8)
    monkeypatch.setattr(workers, "_told", set())
    slow = Loading(rows=2000, seconds=0.004)  # an epoch of 8 s in one process
    assert workers.num_workers("auto", slow) == workers.num_workers("auto", slow) == 7  # one CPU left
    assert capsys.readouterr().out.count("data.num_workers auto: 7 workers") == 1  # told once
    assert workers.auto_workers(slow, cpus=1)[0] == 0  # no CPU to spare
    assert workers.num_workers(3, slow) == 3  # a number in the config wins
    assert cfg.data.num_workers == "auto"
    net = SimpleNamespace(mean_std=((0.5,) * 3, (0.5,) * 3))
    data = FoldDataModule(cfg, get_task(cfg), load_competition(cfg), 0, net)
    assert data.train_dataloader().num_workers == data.val_dataloader().num_workers == 0  # the demo's 32 px
