"""The fold loop: `train(cfg, folds)` refuses what cannot run, trains each fold from fresh weights (fold.py),
then merges the OOF into a CV score (oof.py); with `seeds`, once per seed, then their mean (seeds.py). The files
it writes are listed in layout.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack

from lightning.pytorch.callbacks import Callback

from ..config import Config, ConfigError, save_config
from ..data.competition import Competition
from ..run import layout
from ..training.loggers import offline_sync_hint
from .auto import resolve_but_lr
from .fold import check_can_run, debug_fold, is_main_process, run_fold
from .lock import exclusive
from .oof import merge_oof, print_table
from .pseudo import check_folds_share_source, check_pseudo_labels
from .refit import refit
from .seeds import check_seeds_as_trained, merge_seeds, print_seeds, runs, seed_config, seeds_are_current
from .split import check_folds_can_train, load_competition, save_folds
from .state import FoldResult, check_experiment, cv_is_current
from .tune import resolve_all


def train(
    cfg: Config,
    folds: Sequence[int | str],
    force: bool = False,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
) -> dict:
    """Train the given folds, skipping finished ones unless `force`; merge the CV once all folds exist. With
    `seeds`, train them once per seed (seeds.py), then merge the seeds' mean. `callbacks` join each fold's
    Trainer (a test's probe, a user's own logging).

    The `auto` values are chosen first (tuning.resolve_all), once for every seed. Everything that can be refused
    is refused before the first file is written (the LR finder's plot aside). Returns {"metric": name,
    "folds": {fold: score}, "cv": cv.json's contents or None}, and with seeds "seeds": {seed: that of its run}.
    folds [layout.FULL] trains the full-data refit (refit.py), of each seed with seeds, and returns
    {"metric": name, "refit": [each run's refit.json]}.
    """
    check_can_run(cfg)
    competition = load_competition(cfg)
    check_folds_can_train(cfg, competition.problem, competition.train)
    check_seeds_as_trained(cfg)
    if cfg.data.pseudo_labels:
        check_pseudo_labels(cfg, competition)
    # A debug run writes nothing: no LR finder (it starts from 1e-3 where the rate is auto).
    cfg = resolve_but_lr(cfg, competition) if cfg.debug else resolve_all(cfg, competition)
    if cfg.debug:
        if layout.FULL in folds:
            raise ConfigError("--fold full has no validation to debug: run the debug run on a fold (--fold 0)")
        for fold in folds:
            debug_fold(cfg, competition, fold, callbacks)
        return {"metric": cfg.metric, "folds": {}, "cv": None}
    if list(folds) == [layout.FULL]:
        return {"metric": cfg.metric, "refit": [refit(run, competition, force, resume, callbacks) for run in runs(cfg)]}
    if cfg.seeds:
        return train_seeds(cfg, competition, folds, force, resume, callbacks)
    return train_run(cfg, competition, folds, force, resume, callbacks)


def train_seeds(
    cfg: Config,
    competition: Competition,
    folds: Sequence[int],
    force: bool,
    resume: bool,
    callbacks: Sequence[Callback],
) -> dict:
    """train() of an experiment with seeds: each seed's run, then their mean as the experiment's OOF and CV."""
    for seed in cfg.seeds:  # every seed's run refused before the first one trains, and before config.yaml
        check_experiment(seed_config(cfg, seed), folds, force)
    if is_main_process():
        save_config(cfg, cfg.experiment_dir / layout.CONFIG)
    by_seed = {
        seed: train_run(seed_config(cfg, seed), competition, folds, force, resume, callbacks, seed_run=True)
        for seed in cfg.seeds
    }
    cv = None
    if is_main_process():
        cv = json.loads((cfg.experiment_dir / layout.CV).read_text()) if seeds_are_current(cfg) else None
        cv = cv or merge_seeds(cfg, competition)
    if cv:
        print_table(cfg, cv)
        print_seeds(cv)
    scores = dict(enumerate(cv["folds"])) if cv else {}
    return {"metric": cfg.metric, "folds": scores, "cv": cv, "seeds": by_seed}


def train_run(
    cfg: Config,
    competition: Competition,
    folds: Sequence[int],
    force: bool,
    resume: bool,
    callbacks: Sequence[Callback],
    seed_run: bool = False,
) -> dict:
    """train() of one run, its `auto` values chosen: the experiment, or one seed's run of it."""
    finished = check_experiment(cfg, folds, force)
    with ExitStack() as locks:
        if is_main_process():  # the other processes of a multi-GPU run share the first one's folds
            for fold in folds:
                where = layout.fold_lock(cfg.experiment_dir, fold)
                locks.enter_context(exclusive(where, f"fold {fold} of {cfg.experiment!r}"))
            save_folds(cfg, competition.folds)
            save_config(cfg, cfg.experiment_dir / layout.CONFIG)
        scores = {fold: finished.get(fold) for fold in folds}
        for fold in folds:
            scores[fold] = train_fold(cfg, competition, fold, scores[fold], resume, callbacks)
        if not is_main_process():
            return {"metric": cfg.metric, "folds": scores, "cv": None}
        if cv_is_current(cfg):  # nothing new: no second CV run in W&B
            cv, merged = json.loads((cfg.experiment_dir / layout.CV).read_text()), False
        else:
            if cfg.data.pseudo_labels:
                results = [FoldResult.read(cfg.fold_dir(k) / layout.METRICS) for k in range(cfg.cv.n_folds)]
                check_folds_share_source(cfg, results)
            cv = merge_oof(cfg, competition)
            merged = cv is not None
    if cv:
        print_table(cfg, cv, margin=not seed_run)  # the floor is the experiment's, not a seed's
    if (merged or len(finished) < len(folds)) and (hint := offline_sync_hint(cfg)):
        print(hint)
    return {"metric": cfg.metric, "folds": scores, "cv": cv}


def train_fold(
    cfg: Config, competition: Competition, fold: int, finished: float | None, resume: bool, callbacks
) -> float | None:
    """The fold's score: trained now, or that of its finished run (None in the other processes of DDP)."""
    main = is_main_process()
    if finished is not None:
        if main:
            print(f"fold {fold}: finished before, {cfg.metric} = {finished:.4f}; skipped (--force retrains it)")
        return finished
    result = run_fold(cfg, competition, fold, resume=resume, callbacks=callbacks)
    if not main:
        return None
    print(f"fold {fold}: {cfg.metric} = {result.score:.4f}  ->  {cfg.fold_dir(fold)}/")
    return result.score


def parse_folds(text: str, n_folds: int) -> list[int | str]:
    if text == "all":
        return list(range(n_folds))
    if text == layout.FULL:
        return [layout.FULL]
    try:
        folds = list(dict.fromkeys(int(part) for part in text.split(",")))
    except ValueError:
        raise ConfigError(f"--fold {text!r}: give a fold number, a list such as 0,2, all, or full") from None
    for fold in folds:
        if not 0 <= fold < n_folds:
            raise ConfigError(f"--fold {fold}: folds are numbered 0 to {n_folds - 1} (cv.n_folds is {n_folds})")
    return folds


def parse_seeds(text: str, seed: int) -> list[int]:
    """--seeds 3: three seeds from the config's seed on; --seeds 1,7,42: those."""
    try:
        if "," in text:
            return [int(part) for part in text.split(",")]
        if int(text) >= 1:
            return [seed + k for k in range(int(text))]
    except ValueError:
        pass
    raise ConfigError(f"--seeds {text!r}: give a number of seeds, such as 3, or a list such as 1,7,42")
