"""The bench at a tiny size (a smoke test, not a timing assertion), and the GPU path where a GPU is present."""

import math
from dataclasses import replace

import pandas as pd
import pytest
import torch
from conftest import PROJECT
from safetensors.torch import load_file

from {{ cookiecutter.module_name }}.bench import loops as bench_module
from {{ cookiecutter.module_name }}.bench.loops import loop_overhead
from {{ cookiecutter.module_name }}.bench.measure import bench
from {{ cookiecutter.module_name }}.bench.report import print_bench
from {{ cookiecutter.module_name }}.config import ConfigError
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.run.errors import UserError
from {{ cookiecutter.module_name }}.tasks.vision.models import ImageModel


def test_the_bench_times_both_loops_and_prints_finite_ratios(cfg, capsys):
    small = replace(cfg, data=replace(cfg.data, batch_size=16))
    report = bench(small, steps=8, repeats=1, warmup=2)
    print_bench(report)
    loop = report["loop"]
    for source in ("memory", "pipeline"):
        assert math.isfinite(loop[f"ratio/{source}"]) and loop[f"ratio/{source}"] > 0
        assert loop[f"lightning/{source}"] > 0 and loop[f"plain/{source}"] > 0
        assert loop[f"ratio_range/{source}"] == [pytest.approx(loop[f"ratio/{source}"])] * 2  # one repeat
    assert report["tta"]["views"] == 8 and math.isfinite(report["tta"]["ratio"])
    assert report["pipeline"]["items_per_s"] > 0
    printed = capsys.readouterr().out
    assert "memory" in printed and "pipeline" in printed and "TTA: 8 views" in printed
    assert "one repeat: how far the ratios vary is unknown" in printed
    assert not small.experiment_dir.exists()  # nothing written to outputs/


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_path_trains_in_bf16_channels_last_compiled(tiny):
    """bf16-mixed, channels_last and torch.compile together, on the GPU: a fold trains and predicts."""
    model = replace(tiny.model, channels_last=True, compile=True)
    trainer = replace(tiny.trainer, precision="bf16-mixed", accelerator="gpu", devices=1)
    cfg = replace(tiny, model=model, trainer=trainer)
    score = train(cfg, folds=[0])["folds"][0]
    assert 0.1 <= score <= 1 and (cfg.fold_dir(0) / "model.safetensors").is_file()


def test_each_ratio_comes_with_its_range_over_the_repeats(cfg, monkeypatch):
    """Each repeat's ratio pairs the two loops it ran back to back (timings made up here)."""
    per_step = iter([0.2, 0.1, 0.4, 0.2, 0.3, 0.1, 0.3, 0.2])  # each repeat: memory, pipeline; lightning, plain

    def times(*args) -> list[float]:
        step = next(per_step)
        return [i * step for i in range(8)]

    monkeypatch.setattr(bench_module, "memory_batches", lambda *args: None)
    monkeypatch.setattr(bench_module, "lightning_run", lambda *args: (1.0, times()))
    monkeypatch.setattr(bench_module, "plain_run", times)
    loop = loop_overhead(cfg, None, torch.device("cpu"), steps=8, repeats=2, warmup=2)
    assert loop["ratio_range/memory"] == pytest.approx([2.0, 3.0])  # 0.2 / 0.1, 0.3 / 0.1
    assert loop["ratio_range/pipeline"] == pytest.approx([1.5, 2.0])  # 0.3 / 0.2, 0.4 / 0.2
    assert loop["ratio/memory"] == pytest.approx(2.5)  # the medians' ratio: 0.25 / 0.1
    assert (loop["steps"], loop["repeats"]) == (8, 2)


def made_up_report(memory: list[float], pipeline: list[float]) -> dict:
    loop = {"batch_size": 16, "steps": 8, "repeats": 3, "lightning_startup_s": 1.0}
    for source, (low, high) in (("memory", memory), ("pipeline", pipeline)):
        loop |= {f"lightning/{source}": 0.2, f"plain/{source}": 0.1, f"ratio/{source}": 2.0}
        loop[f"ratio_range/{source}"] = [low, high]
    return {"loop": loop, "pipeline": {"items_per_s": 1000.0, "model_items_per_s": 100.0}}


def test_ratios_that_disagree_across_repeats_are_flagged(capsys):
    print_bench(made_up_report([1.9, 2.1], [0.45, 2.27]))
    printed = capsys.readouterr().out
    assert "0.450-2.270" in printed and "1.900-2.100" in printed  # the range beside each ratio
    warning = [line for line in printed.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "pipeline 0.45-2.27" in warning[0] and "memory" not in warning[0]
    assert "more --steps and --repeats (this run: --steps 8 --repeats 3)" in warning[0]
    print_bench(made_up_report([1.9, 2.1], [1.8, 2.2]))  # within 25% of each other: readable
    assert "warning" not in capsys.readouterr().out


def test_the_real_photo_loader_bench_loads_jpegs_and_the_cache_and_names_the_bottleneck(cfg, tmp_path, capsys):
    from {{ cookiecutter.module_name }}.bench.photos import (
        device_images_per_second,
        images_per_second,
        model_images_per_second,
        on_device,
        photo_competition,
        photo_config,
    )
    from {{ cookiecutter.module_name }}.bench.photos import print_real_sizes as print_photos

    folder = photo_competition(tmp_path / "photos", side=96, rows=64)
    assert len(list((folder / "train").glob("*.jpg"))) == 64
    photos = photo_config(cfg, folder, tmp_path / "outputs", size=64)
    for cache in (False, True):
        run = replace(photos, data=replace(photos.data, cache=cache, num_workers=0, batch_size=4))
        assert images_per_second(run, batches=3) > 0
    assert len(list((tmp_path / "outputs" / ".cache").glob("images-*-ok.npy"))) == 1  # the cached run's
    run = on_device(replace(photos, data=replace(photos.data, cache=True, num_workers=0, batch_size=4)))
    assert images_per_second(run, batches=3) > 0 and device_images_per_second(run, torch.device("cpu")) > 0
    assert model_images_per_second(photos, torch.device("cpu"), batch=2, steps=1) > 0
    rates = {"jpeg/0": 100.0, "cache/0": 600.0, "jpeg/workers": 180.0, "cache/workers": 900.0, "device/0": 2000.0}
    print_photos({768: rates, "model": 1000.0, "device_augment": 3000.0, "workers": 1})
    print_photos({768: rates, "model": 50.0, "device_augment": 3000.0, "workers": 1})
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("768")]
    assert rows[0][3] == "6.0x" and rows[0][-2:] == ["the", "loader"] and rows[1][-2:] == ["the", "model"]


def test_the_hand_written_fold_writes_every_validation_row_once_and_weights_that_load(tiny):
    from {{ cookiecutter.module_name }}.bench.whole_fold import hand_fold

    tiny = replace(tiny, trainer=replace(tiny.trainer, limit_train_batches=None))  # it trains every batch
    score = hand_fold(tiny, 0)
    oof = pd.read_csv(tiny.fold_dir(0) / "oof.csv")
    train = load_competition(tiny).train
    assert sorted(oof["id"]) == sorted(train[train.fold == 0]["id"]) and 0.1 < score <= 1  # better than chance
    net = ImageModel(tiny.model, num_outputs=10)
    net.load_state_dict(load_file(tiny.fold_dir(0) / "model.safetensors"))
    unfair = replace(
        tiny, mixup=replace(tiny.mixup, mixup_alpha=0.2), tta=replace(tiny.tta, views=["identity", "hflip"])
    )
    with pytest.raises(ConfigError, match=r"does not reproduce mixup, tta\.views: leave them"):
        hand_fold(unfair, 0)


@pytest.mark.slow
def test_the_bench_times_train_py_against_the_hand_written_fold_each_a_whole_process(digits_dir, capsys):
    from {{ cookiecutter.module_name }}.bench.whole_fold import fold_against_hand, print_whole_fold

    flags = ["--data.dir", str(digits_dir), "--cv.n_folds", "3", "--trainer.max_epochs", "1"]
    fold = fold_against_hand(PROJECT / "configs" / "vision.yaml", flags, PROJECT, repeats=1)
    assert fold["train.py"] > 0 and fold["hand"] > 0 and fold["ratio"] == fold["train.py"] / fold["hand"]
    print_whole_fold(fold)
    assert f"= {fold['ratio']:.2f}x" in capsys.readouterr().out
    # Refused in one line naming the key before either process starts (its auto values are chosen from the data).
    with pytest.raises(UserError, match=r"^config key 'data\.dir': /nowhere does not exist$"):
        fold_against_hand(PROJECT / "configs" / "vision.yaml", ["--data.dir", "/nowhere"], PROJECT, repeats=1)
