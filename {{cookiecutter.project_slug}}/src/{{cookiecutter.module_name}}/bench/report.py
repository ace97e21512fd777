"""The bench's figures, printed as ratios: the two training loops, the data pipeline, TTA, padding, and a whole
fold against a hand-written one. Each task prints its own inputs at real sizes (tasks/<task>/bench.py)."""

from __future__ import annotations

import torch

# The repeats' ratios of the two loops differ by more than this factor: the median ratio is noise.
SPREAD_LIMIT = 1.25


def print_bench(report: dict) -> None:
    loop, pipe = report["loop"], report["pipeline"]
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU, {torch.get_num_threads()} threads"
    print(f"\nBench on {device}, batch {loop['batch_size']} (medians of the repeats; seconds per training step)")
    print(f"{'':>10}  {'lightning':>10}  {'plain':>10}  {'ratio':>6}  ratio per repeat, min-max")
    noisy = []
    for source in ("memory", "pipeline"):
        lightning, plain, ratio = loop[f"lightning/{source}"], loop[f"plain/{source}"], loop[f"ratio/{source}"]
        low, high = loop[f"ratio_range/{source}"]
        print(f"{source:>10}  {lightning:>10.4f}  {plain:>10.4f}  {ratio:>6.3f}  {low:.3f}-{high:.3f}")
        if high > SPREAD_LIMIT * low:
            noisy.append(f"{source} {low:.2f}-{high:.2f}")
    if noisy:
        print(
            f"warning: the ratios disagree across the repeats ({', '.join(noisy)}): too noisy to read; rerun with "
            f"more --steps and --repeats (this run: --steps {loop['steps']} --repeats {loop['repeats']})"
        )
    elif loop["repeats"] < 2:
        print("one repeat: how far the ratios vary is unknown; run --repeats 3 or more to see it")
    print(f"Lightning start-up (fit() to the first step): {loop['lightning_startup_s']:.2f} s, apart from the above")
    starved = pipe["items_per_s"] < pipe["model_items_per_s"]
    tokens = f", {pipe['tokens_per_s']:.0f} tokens/s" if "tokens_per_s" in pipe else ""
    print(
        f"data pipeline alone: {pipe['items_per_s']:.0f} items/s{tokens}; the model takes "
        f"{pipe['model_items_per_s']:.0f} items/s from memory"
        + (": the loader is the bottleneck (raise data.num_workers)" if starved else ": the loader keeps up")
    )
    if "tta" in report:
        t = report["tta"]
        print(
            f"TTA: {t['views']} views {t['all_views_s']:.2f} s against 1 view {t['one_view_s']:.2f} s = "
            f"{t['ratio']:.2f}x (at most {t['views']}x expected)"
        )
    if "padding" in report:
        p = report["padding"]
        print(
            f"padding: to max_length {p['max_length_s_per_step']:.4f} s/step, dynamic + grouped "
            f"{p['dynamic_s_per_step']:.4f} s/step = {p['ratio']:.2f}x faster"
        )
