"""The bench runs at a tiny size and prints finite figures (a smoke test, not a timing assertion)."""

import math
from dataclasses import replace

from {{ cookiecutter.module_name }}.bench import bench, print_bench


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
