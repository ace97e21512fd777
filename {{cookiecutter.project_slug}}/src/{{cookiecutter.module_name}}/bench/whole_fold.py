"""A fold trained the plain-PyTorch way: the reference `python bench.py` times `python train.py --fold 0`
against, each as a whole process, from start-up to the last file written.

It shares what both must do the same way (the competition's tables and folds, the task's network, datasets
and loaders, the loss, the schedule's shape and, with cycles, where it stops, the metric) and hand-writes the
rest: the epochs, validation after each, the best epoch's weights kept in memory, its OOF predictions and
weights written. No Lightning
(not even imported), no checkpoints on disk, no loggers, no plots.

python -m <package>.bench.whole_fold --config configs/vision.yaml --fold 0 --output_dir /tmp/hand
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import save_model

from ..config import Config, ConfigError, load_config
from ..config.metrics import get_metric
from ..config.rules import AUTO
from ..cv.auto import resolve_but_lr
from ..cv.oof import oof_table
from ..cv.split import load_competition
from ..run import cli, layout
from ..run.errors import UserError
from ..run.io import write_csv
from ..tasks import get_task
from ..training.loss import make_loss
from ..training.schedules import CycleRule, make_optimizer, make_schedule


def not_reproduced(cfg: Config) -> list[str]:
    """The config keys set to something the hand-written fold does not do: comparing with them would be unfair."""
    o, t, a = cfg.optim, cfg.trainer, cfg.averaging
    keys = {
        "mixup": cfg.mixup.enabled,
        "averaging": a.weights != "best" or a.ema,
        "tta.views": cfg.tta.on,
        "data.device_augment": bool(cfg.data.device_augment),
        "optim.backbone_lr": o.backbone_lr is not None,
        "optim.layer_decay": o.layer_decay != 1,
        "optim.freeze_backbone_epochs": bool(o.freeze_backbone_epochs),
        "model.mode": cfg.model.mode != "encoder",
        "trainer.max_steps": t.max_steps != -1,
        "trainer.limit_train_batches": t.limit_train_batches not in (None, 1.0),
        "trainer.limit_val_batches": t.limit_val_batches not in (None, 1.0),
        "trainer.accumulate_grad_batches": t.accumulate_grad_batches != 1,
        "trainer.gradient_clip_val": bool(t.gradient_clip_val),
        "trainer.devices": t.devices not in ("auto", 1, "1"),
        "callbacks": bool(cfg.callbacks.accumulate_schedule) or cfg.callbacks.early_stopping_patience is not None,
    }
    return [key for key, differs in keys.items() if differs]


def reproduced(cfg: Config, competition) -> Config:
    """The config with its `auto` values chosen as train.py chooses them, refused naming the keys the hand-written
    fold does not reproduce (the LR finder among them)."""
    unfair = ["optim.lr"] if cfg.optim.lr == AUTO else []
    unfair += not_reproduced(cfg := resolve_but_lr(cfg, competition))
    if unfair:
        raise ConfigError(f"the hand-written fold does not reproduce {', '.join(unfair)}: leave them at their defaults")
    return cfg


def hand_fold(cfg: Config, fold: int) -> float:
    """Train fold `fold` by hand; write its OOF and weights under the fold's folder; return its score."""
    competition, task = load_competition(cfg), get_task(cfg)
    cfg = reproduced(cfg, competition)
    torch.manual_seed(cfg.seed)
    problem, rows = competition.problem, competition.train
    train_rows, valid_rows = (rows[mask].reset_index(drop=True) for mask in (rows.fold != fold, rows.fold == fold))
    net = task.build_net(cfg, problem)
    train_loader = task.loader(cfg, task.make_dataset(cfg, net, train_rows, "train", problem), train=True)
    valid_loader = task.loader(cfg, task.make_dataset(cfg, net, valid_rows, "valid", problem))
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
    metric, targets = get_metric(cfg.metric), problem.encode(valid_rows)
    epochs, train_epoch = cfg.trainer.max_epochs, epoch_trainer(cfg, net, problem, len(train_loader), device)
    best = (-float("inf"), None, None)
    cycles = None
    if cfg.optim.schedule == "cycles":  # the fold stops where train.py's would
        cycles = CycleRule(epochs, metric, cfg.callbacks.early_stopping_min_delta)
    for epoch in range(1, epochs + 1):
        train_epoch(train_loader)
        preds = task.predict_loader(net, valid_loader, problem, ["identity"], device)
        score = metric(targets, preds, problem.kind)
        if metric.sign * score > best[0]:
            best = (metric.sign * score, preds, copy.deepcopy(net.state_dict()))
        if cycles and cycles.stop_after(epoch, score):
            break
    out = cfg.fold_dir(fold)
    out.mkdir(parents=True, exist_ok=True)
    net.load_state_dict(best[2])
    save_model(net, str(out / layout.WEIGHTS))
    write_csv(oof_table(cfg, problem, valid_rows, best[1]), layout.oof(out, ""))
    return metric.sign * best[0]


def epoch_trainer(cfg: Config, net: torch.nn.Module, problem, batches: int, device: torch.device):
    """A function that trains `net` for one epoch of a loader: the config's loss, optimizer and schedule (over
    `batches` an epoch), under the autocast of Lightning's mixed precision."""
    task = get_task(cfg)
    optimizer = make_optimizer(cfg, [{"params": list(net.parameters()), "lr": cfg.optim.lr}])
    epochs = cfg.trainer.max_epochs
    schedule = make_schedule(cfg, optimizer, max(epochs * batches, 2), epochs)
    loss_fn, precision = make_loss(problem, cfg.optim.label_smoothing), cfg.trainer.precision
    autocast = partial(torch.autocast, device.type, torch.bfloat16 if "bf16" in precision else torch.float16)
    net.to(device)

    def train_epoch(loader) -> None:
        net.train()
        for batch in loader:
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            with autocast(enabled=precision.endswith("-mixed")):
                loss = loss_fn(net(**{key: batch[key] for key in task.input_keys if key in batch}), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()

    return train_epoch


def whole_process_seconds(name: str, command: list[str], project: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "WANDB_MODE": "disabled"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=project)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1].removeprefix("error: ")
        raise UserError(f"{name} failed: {last} (run it alone to see more: {' '.join(command[1:])})")
    return time.perf_counter() - start


def fold_against_hand(config: Path, overrides: list[str], project: Path, repeats: int, fold: int = 0) -> dict:
    """Seconds of `python train.py --fold <fold>` and of the hand-written fold, each a whole process with the
    config and its `overrides`, alternated `repeats` times, writing to a temporary folder (W&B off); their
    medians and ratio."""
    overrides = [*overrides, "--callbacks.early_stopping_patience", "null"]  # a fold by hand trains every epoch
    cfg = load_config(config, overrides)
    reproduced(cfg, load_competition(cfg))  # before a fold is trained for nothing
    runs: dict[str, list[float]] = {"train.py": [], "hand": []}
    with tempfile.TemporaryDirectory(prefix="bench-fold-") as tmp:
        common = ["--config", str(config), *overrides, "--output_dir", tmp, "--wandb.mode", "disabled"]
        train = [sys.executable, str(project / "train.py"), "--fold", str(fold), "--force", *common]
        hand = [sys.executable, "-m", __name__, "--fold", str(fold), *common]
        for repeat in range(repeats):  # alternated, and each first in turn: a first run pays for cold caches
            for name, command in (("train.py", train), ("hand", hand))[:: 1 if repeat % 2 else -1]:
                label = "train.py --fold" if name == "train.py" else "the hand-written fold"
                runs[name].append(whole_process_seconds(label, command, project))
    medians = {name: statistics.median(times) for name, times in runs.items()}
    return {**medians, "ratio": medians["train.py"] / medians["hand"], "repeats": repeats}


def print_whole_fold(fold: dict) -> None:
    """train.py --fold 0 against the hand-written fold, each a whole process from start-up to its last file."""
    print(
        f"\nWhole process, fold 0 of the config (medians of {fold['repeats']}): train.py {fold['train.py']:.1f} s, "
        f"a hand-written PyTorch fold {fold['hand']:.1f} s = {fold['ratio']:.2f}x"
    )


@cli.entry
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--fold", type=int, default=0)
    args, overrides = parser.parse_known_args()
    cfg = load_config(args.config, overrides)
    print(f"fold {args.fold}: {cfg.metric} {hand_fold(cfg, args.fold):.4f}")


if __name__ == "__main__":
    main()
