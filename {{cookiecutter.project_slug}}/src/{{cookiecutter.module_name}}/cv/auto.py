"""The config's `auto` values, chosen from the competition before the first fold trains. Each choice is printed
once with its reason and saved in the experiment's config.yaml, so a run is still fully told by its config; an
experiment that started before keeps the choices its config.yaml holds (the LR finder does not run per fold).

    trainer.max_epochs                 at least MIN_EPOCHS, and about a budget of optimizer steps per fold
    callbacks.early_stopping_patience  PATIENCE epochs without a better validation score when the epochs are
                                       auto, else off (cosine cycles stop at a cycle's end instead); the best
                                       checkpoint is what the fold keeps either way
    optim.lr                           Lightning's LR finder on fold 0, last: it trains with the rest chosen
                                       (tuning.py passes it in: the finder itself builds folds from this module)
    the task's own (Task.auto_choices) data.image_size, model.small_input; optim.backbone_lr, optim.layer_decay
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from ..config import Config, ConfigError, config_changes, load_config
from ..config.rules import AUTO
from ..data.competition import Competition
from ..run import layout
from ..tasks import get_task

MIN_EPOCHS, MAX_EPOCHS = 5, 30
# Optimizer steps a fold's epochs should add up to on a GPU; a CPU's budget is the task's (Task.cpu_steps),
# which keeps a fold to minutes.
GPU_STEPS = 3000
PATIENCE = 3

Chooser = Callable[[Config, Competition], tuple[Any, str]]


def get_key(cfg: Config, key: str) -> Any:
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def set_key(cfg: Config, key: str, value: Any) -> Config:
    section, name = key.split(".")
    return replace(cfg, **{section: replace(getattr(cfg, section), **{name: value})})


def on_gpu(cfg: Config) -> bool:
    return torch.cuda.is_available() and cfg.trainer.accelerator != "cpu"


def budget(cfg: Config) -> int:
    return GPU_STEPS if on_gpu(cfg) else get_task(cfg).cpu_steps


def epochs(cfg: Config, competition: Competition) -> tuple[int, str]:
    rows = int((competition.train.fold != 0).sum())  # fold 0's training rows; the others differ by a row or two
    per_step = cfg.data.batch_size * cfg.trainer.accumulate_grad_batches  # one process's (DDP divides the steps)
    steps = rows // per_step if get_task(cfg).drops_last_batch else math.ceil(rows / per_step)
    steps_budget = budget(cfg)
    chosen = min(max(math.ceil(steps_budget / max(steps, 1)), MIN_EPOCHS), MAX_EPOCHS)
    where = "a GPU" if on_gpu(cfg) else "the CPU"
    return chosen, f"{steps} steps an epoch; at least {MIN_EPOCHS} epochs and about {steps_budget} steps on {where}"


def patience(epochs_were_auto: bool) -> Chooser:
    def choose(cfg: Config, competition: Competition) -> tuple[int | None, str]:
        if cfg.averaging.weights == "swa" or cfg.mixup.off_last_epochs:
            return None, "off: SWA or clean last epochs need the run to reach its last epochs"
        if cfg.optim.schedule == "cycles":
            return None, "off: with optim.schedule cycles, a fold stops at the end of a cycle that did not improve"
        if epochs_were_auto:
            return PATIENCE, "stop when the validation score has not improved for that many epochs"
        return None, "off: trainer.max_epochs is set"

    return choose


def started_with(cfg: Config, keys: list[str]) -> Config | None:
    """The config.yaml of the experiment when it started with this same config: its choices are kept. None when
    there is none, or when anything but the `auto` keys differs (new data, a new model): then they are made anew."""
    saved = cfg.experiment_dir / layout.CONFIG
    if not saved.exists():
        return None
    before = load_config(saved)
    candidate = cfg
    for key in keys:
        if get_key(cfg, key) == AUTO and get_key(before, key) != AUTO:
            candidate = set_key(candidate, key, get_key(before, key))
    changes = config_changes(candidate, saved)
    if changes:
        print(f"auto: {saved} was written with another config ({'; '.join(changes[:3])}); choosing again")
        return None
    return before


def resolve_auto(cfg: Config, competition: Competition, last: list[tuple[str, Chooser]] = ()) -> Config:
    """`cfg` with every `auto` value chosen (those of `last` after the others); unchanged when none is auto."""
    choosers: list[tuple[str, Chooser]] = [
        *get_task(cfg).auto_choices(),
        ("trainer.max_epochs", epochs),
        ("callbacks.early_stopping_patience", patience(cfg.trainer.max_epochs == AUTO)),
        *last,
    ]
    if not any(get_key(cfg, key) == AUTO for key, _ in choosers):
        return cfg
    saved = cfg.experiment_dir / layout.CONFIG
    before = started_with(cfg, [key for key, _ in choosers])
    for key, choose in choosers:
        if get_key(cfg, key) != AUTO:
            continue
        kept = get_key(before, key) if before else AUTO
        if kept != AUTO:
            value, why = kept, f"as chosen when the experiment started: {saved}"
        else:
            value, why = choose(cfg, competition)
        cfg = set_key(cfg, key, value)
        print(f"auto: {key} = {value} ({why})")
    left = [key for key, _ in choosers if get_key(cfg, key) == AUTO]
    if left:
        raise ConfigError(f"config key {left[0]!r}: auto has no choice for this task or model; set a value")
    cfg.check()
    return cfg


def resolve_but_lr(cfg: Config, competition: Competition) -> Config:
    """Every `auto` value chosen but the learning rate, which stays at 1e-3 where it is auto: what the LR and
    batch-size finders and the benchmarks start from."""
    cfg = resolve_auto(cfg, competition)
    return set_key(cfg, "optim.lr", 1e-3) if cfg.optim.lr == AUTO else cfg
