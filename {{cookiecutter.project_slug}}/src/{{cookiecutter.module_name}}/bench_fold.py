"""A fold trained the plain-PyTorch way: the reference `python bench.py` times `python train.py --fold 0`
against, each as a whole process, from start-up to the last file written.

It shares what both must do the same way (the fold's data, network, loss, optimizer groups and schedule) and
hand-writes the rest: the epochs, validation after each, the best epoch's weights kept in memory, its OOF
predictions and weights written. No Lightning, no checkpoints on disk, no loggers, no plots.

python -m <package>.bench_fold --config configs/vision.yaml --fold 0 --output_dir /tmp/hand
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import save_model
from torch.optim.lr_scheduler import LambdaLR

from . import layout
from .atomic import write_csv
from .config import Config, load_config
from .data.competition import load_competition
from .fold import build_module_and_data
from .inference import predict_loader
from .oof import oof_table
from .schedules import lr_factor


def hand_fold(cfg: Config, fold: int) -> float:
    """Train fold `fold` by hand; write its OOF and weights under the fold's folder; return its score."""
    competition = load_competition(cfg)
    module, data = build_module_and_data(cfg, competition, fold)
    problem, net, task = competition.problem, module.net, module.task
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader, valid_loader = data.train_dataloader(), data.val_dataloader()
    steps = cfg.trainer.max_epochs * len(train_loader)
    optimizer = torch.optim.AdamW(module.param_groups(), weight_decay=cfg.optim.weight_decay)
    warmup = max(1, int(steps * cfg.optim.warmup_pct))
    schedule = LambdaLR(optimizer, partial(lr_factor, total=steps, warmup=warmup, schedule=cfg.optim.schedule))
    targets, sign = problem.encode(data.valid_rows), 1 if module.metric.higher_is_better else -1
    best = (-float("inf"), None, None)
    net.to(device)
    for _ in range(cfg.trainer.max_epochs):
        net.train()
        for batch in train_loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            loss = module.loss_fn(module(batch), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        preds = predict_loader(task, net, valid_loader, problem, ["identity"], device)
        score = module.metric(targets, preds, problem.kind)
        if sign * score > best[0]:
            best = (sign * score, preds, copy.deepcopy(net.state_dict()))
    out = cfg.fold_dir(fold)
    out.mkdir(parents=True, exist_ok=True)
    net.load_state_dict(best[2])
    save_model(net, str(out / layout.WEIGHTS))
    write_csv(oof_table(cfg, problem, data.valid_rows, best[1]), layout.oof(out, ""))
    return sign * best[0]


def whole_process_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def fold_against_hand(config: Path, project: Path, repeats: int, fold: int = 0) -> dict:
    """Seconds of `python train.py --fold <fold>` and of the hand-written fold, each a whole process, alternated
    `repeats` times, writing to a temporary folder (W&B off); their medians and ratio."""
    runs: dict[str, list[float]] = {"train.py": [], "hand": []}
    with tempfile.TemporaryDirectory(prefix="bench-fold-") as tmp:
        common = ["--config", str(config), "--output_dir", tmp, "--wandb.mode", "disabled"]
        train = [sys.executable, str(project / "train.py"), "--fold", str(fold), "--force", *common]
        hand = [sys.executable, "-m", __name__, "--fold", str(fold), *common]
        for _ in range(repeats):
            runs["train.py"].append(whole_process_seconds(train))
            runs["hand"].append(whole_process_seconds(hand))
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
