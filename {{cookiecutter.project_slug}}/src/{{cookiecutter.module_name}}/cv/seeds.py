"""Seed runs: an experiment trained once per seed of `seeds`, on the same folds, and the mean of their
predictions as the experiment. Each seed's run is an ordinary experiment (seed_config) in the experiment's
folder; the mean is the experiment's oof.csv and cv.json, which holds each seed's CV beside the mean's."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from ..config import Config, ConfigError, load_config
from ..data.competition import Competition
from ..run import layout
from ..run.errors import DataError
from .artefacts import merged_from_current_oof
from .oof import cv_summary, read_oof, write_cv


def seed_config(cfg: Config, seed: int) -> Config:
    """One seed's run: the experiment's config with that seed, named and kept inside the experiment's folder,
    on the experiment's folds (cv.seed), its image cache and its pseudo-labels' source."""
    return replace(
        cfg,
        experiment=layout.seed_run(cfg.experiment, seed),
        output_dir=str(cfg.experiment_dir),
        seed=seed,
        seeds=[],
        cv=replace(cfg.cv, seed=cfg.cv.split_seed(cfg.seed)),
        data=replace(
            cfg.data,
            cache_dir=str(layout.cache_dir(cfg.output_dir, cfg.data.cache_dir)),
            # the source's folder itself: it is not under the seed's output_dir
            pseudo_labels=cfg.data.pseudo_labels
            and str(layout.named_or_folder(cfg.output_dir, cfg.data.pseudo_labels)),
        ),
    )


def runs(cfg: Config) -> list[Config]:
    """The runs whose predictions are averaged into the experiment's: one per seed, or the experiment itself."""
    return [seed_config(cfg, seed) for seed in cfg.seeds] or [cfg]


def check_seeds_as_trained(cfg: Config) -> None:
    """An experiment is continued with the seeds it started with, or without any if it had none: an experiment
    trained without seeds would get seed runs beside its folds, one trained with them (--seeds is a flag, not
    remembered) folds of its own beside its seeds'."""
    if cfg.seeds:
        for fold in range(cfg.cv.n_folds):
            if (cfg.fold_dir(fold) / layout.METRICS).exists():
                raise ConfigError(
                    f"config key 'seeds': experiment {cfg.experiment!r} was trained without seeds "
                    f"({cfg.fold_dir(fold)} is finished); name a new experiment for its seeds (--experiment NAME)"
                )
        return
    saved = cfg.experiment_dir / layout.CONFIG
    seeds = load_config(saved).seeds if saved.exists() else []
    if seeds:
        raise ConfigError(
            f"config key 'seeds': experiment {cfg.experiment!r} was trained with seeds {seeds} ({saved}): "
            f"pass --seeds {','.join(map(str, seeds))}, or name a new experiment"
        )


def seeds_are_current(cfg: Config) -> bool:
    """The experiment's cv.json is of these seeds and newer than each seed's."""
    path = cfg.experiment_dir / layout.CV
    if not merged_from_current_oof(cfg.experiment_dir):
        return False  # missing, cut short or edited since (or by another version): merged again
    if list(json.loads(path.read_text()).get("seeds", {})) != [str(s) for s in cfg.seeds]:
        return False
    seed_cvs = [run.experiment_dir / layout.CV for run in runs(cfg)]
    return all(seed_cv.exists() and seed_cv.stat().st_mtime_ns <= path.stat().st_mtime_ns for seed_cv in seed_cvs)


def merge_seeds(cfg: Config, competition: Competition) -> dict | None:
    """Once every seed's run has its CV: the mean of their OOF predictions as the experiment's oof.csv, and
    cv.json with the mean's scores, each seed's CV and the mean of those; return cv.json's contents."""
    seeds = dict(zip(cfg.seeds, runs(cfg), strict=True))
    missing = [str(seed) for seed, run in seeds.items() if not (run.experiment_dir / layout.CV).exists()]
    if missing:
        print(f"CV: seed {', '.join(missing)} not finished; the experiment's oof.csv and cv.json are their mean")
        return None
    problem = competition.problem
    results = {seed: json.loads((run.experiment_dir / layout.CV).read_text()) for seed, run in seeds.items()}
    oofs = {seed: read_oof(layout.oof(run.experiment_dir), problem) for seed, run in seeds.items()}
    oof = oofs[cfg.seeds[0]]
    for seed, other in oofs.items():  # the same rows in the same folds, or the mean is of two experiments
        if not (other[[cfg.data.id_col, "fold"]].equals(oof[[cfg.data.id_col, "fold"]])):
            raise DataError(
                f"{layout.oof(seeds[seed].experiment_dir)}: its rows or folds differ from seed {cfg.seeds[0]}'s; "
                "retrain the seeds with --fold all --force"
            )
    preds = np.mean([other[problem.pred_columns].to_numpy() for other in oofs.values()], axis=0)
    oof = oof.assign(**dict(zip(problem.pred_columns, preds.T, strict=True)))
    summary = {
        **cv_summary(cfg.metric, problem.kind, problem.encode(oof), preds, oof.fold.to_numpy()),
        "tta": cfg.tta.views,
        "weights": f"{results[cfg.seeds[0]]['weights']} of each of {len(seeds)} seeds, their predictions averaged",
        "seeds": {str(seed): result["cv"] for seed, result in results.items()},
        "seeds_mean": float(np.mean([result["cv"] for result in results.values()])),
    }
    write_cv(cfg, competition, oof, summary)
    return summary


def print_seeds(summary: dict) -> None:
    sign = 1 if summary["higher_is_better"] else -1
    each = ", ".join(f"{seed} {cv:.4f}" for seed, cv in summary["seeds"].items())
    gain = sign * (summary["cv"] - summary["seeds_mean"])
    print(
        f"seeds: {each}; their mean CV {summary['seeds_mean']:.4f}; the CV of their mean predictions "
        f"{summary['cv']:.4f} ({gain:+.4f})"
    )
