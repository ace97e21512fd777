"""A fold trained the plain-PyTorch way: the reference `python bench.py` times `python train.py --fold 0`
against, each as a whole process, from start-up to the last file written.

It shares what both must do the same way (the competition's tables and folds, the task's network, datasets
and loaders, the loss, the schedule's shape, the metric) and hand-writes the rest: the epochs, validation
after each, the best epoch's weights kept in memory, its OOF predictions and weights written. No Lightning
(not even imported), no checkpoints on disk, no loggers, no plots.

python -m <package>.bench_fold --config configs/vision.yaml --fold 0 --output_dir /tmp/hand
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import save_model
from torch.optim.lr_scheduler import LambdaLR

from . import layout
from .atomic import write_csv
from .config import Config, load_config
from .data.competition import load_competition
from .data.loaders import make_loader
from .inference import predict_loader
from .metrics import get_metric
from .oof import oof_table
from .tasks import get_task


def hand_fold(cfg: Config, fold: int) -> float:
    """Train fold `fold` by hand; write its OOF and weights under the fold's folder; return its score."""
    torch.manual_seed(cfg.seed)
    competition, task = load_competition(cfg), get_task(cfg)
    problem, rows = competition.problem, competition.train
    train_rows, valid_rows = (rows[mask].reset_index(drop=True) for mask in (rows.fold != fold, rows.fold == fold))
    net = task.build_net(cfg, problem)
    train_set = task.make_dataset(cfg, net, train_rows, "train", problem)
    valid_set = task.make_dataset(cfg, net, valid_rows, "valid", problem)
    train_loader, valid_loader = make_loader(cfg, task, train_set, train=True), make_loader(cfg, task, valid_set)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    steps = cfg.trainer.max_epochs * len(train_loader)
    optimizer = torch.optim.AdamW(net.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    warmup = max(1, int(steps * cfg.optim.warmup_pct))

    def warmup_cosine(step: int) -> float:  # the config's default schedule
        return step / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * (step - warmup) / (steps - warmup)))

    schedule = LambdaLR(optimizer, warmup_cosine)
    loss_fn, metric = problem.loss(cfg.optim.label_smoothing), get_metric(cfg.metric)
    targets, sign = problem.encode(valid_rows), 1 if metric.higher_is_better else -1
    best = (-float("inf"), None, None)
    net.to(device)
    for _ in range(cfg.trainer.max_epochs):
        net.train()
        for batch in train_loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            loss = loss_fn(net(*(batch[key] for key in task.input_keys)), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        preds = predict_loader(task, net, valid_loader, problem, ["identity"], device)
        score = metric(targets, preds, problem.kind)
        if sign * score > best[0]:
            best = (sign * score, preds, copy.deepcopy(net.state_dict()))
    out = cfg.fold_dir(fold)
    out.mkdir(parents=True, exist_ok=True)
    net.load_state_dict(best[2])
    save_model(net, str(out / layout.WEIGHTS))
    write_csv(oof_table(cfg, problem, valid_rows, best[1]), layout.oof(out, ""))
    return sign * best[0]


def whole_process_seconds(command: list[str], project: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "WANDB_MODE": "disabled"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=project)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[1:3])} failed: {done.stderr.strip()[-2000:]}")
    return time.perf_counter() - start


def fold_against_hand(config: Path, overrides: list[str], project: Path, repeats: int, fold: int = 0) -> dict:
    """Seconds of `python train.py --fold <fold>` and of the hand-written fold, each a whole process with the
    config and its `overrides`, alternated `repeats` times, writing to a temporary folder (W&B off); their
    medians and ratio."""
    runs: dict[str, list[float]] = {"train.py": [], "hand": []}
    with tempfile.TemporaryDirectory(prefix="bench-fold-") as tmp:
        common = ["--config", str(config), *overrides, "--output_dir", tmp, "--wandb.mode", "disabled"]
        train = [sys.executable, str(project / "train.py"), "--fold", str(fold), "--force", *common]
        hand = [sys.executable, "-m", __name__, "--fold", str(fold), *common]
        for _ in range(repeats):
            runs["train.py"].append(whole_process_seconds(train, project))
            runs["hand"].append(whole_process_seconds(hand, project))
    medians = {name: sorted(times)[len(times) // 2] for name, times in runs.items()}
    return {**medians, "ratio": medians["train.py"] / medians["hand"], "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--fold", type=int, default=0)
    args, overrides = parser.parse_known_args()
    cfg = load_config(args.config, overrides)
    print(f"fold {args.fold}: {cfg.metric} {hand_fold(cfg, args.fold):.4f}")


if __name__ == "__main__":
    main()
