"""The bench at a tiny size (a smoke test, not a timing assertion), and the GPU path where a GPU is present."""

import math
from dataclasses import replace

import pytest
import torch

from {{ cookiecutter.module_name }}.bench import bench, print_bench
from {{ cookiecutter.module_name }}.cv import train


def test_the_bench_times_both_loops_and_prints_finite_ratios(cfg, capsys):
    small = replace(cfg, data=replace(cfg.data, batch_size=16))
    report = bench(small, steps=8, repeats=1, warmup=2)
    print_bench(report)
    loop = report["loop"]
    for source in ("memory", "pipeline"):
        assert math.isfinite(loop[f"ratio/{source}"]) and loop[f"ratio/{source}"] > 0
        assert loop[f"lightning/{source}"] > 0 and loop[f"plain/{source}"] > 0
    assert report["tta"]["views"] == 8 and math.isfinite(report["tta"]["ratio"])
    assert report["pipeline"]["items_per_s"] > 0
    printed = capsys.readouterr().out
    assert "memory" in printed and "pipeline" in printed and "TTA: 8 views" in printed
    assert not small.experiment_dir.exists()  # nothing written to outputs/


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_gpu_path_trains_in_bf16_channels_last_compiled(tiny):
    """bf16-mixed, channels_last and torch.compile together, on the GPU: a fold trains and predicts."""
    model = replace(tiny.model, channels_last=True, compile=True)
    trainer = replace(tiny.trainer, precision="bf16-mixed", accelerator="gpu", devices=1)
    cfg = replace(tiny, model=model, trainer=trainer)
    score = train(cfg, folds=[0])["folds"][0]
    assert 0.1 <= score <= 1 and (cfg.fold_dir(0) / "model.safetensors").is_file()
