"""Where an experiment's files live: every name under outputs/ is spelled here, and only here.

outputs/.cache/                the decoded-image caches (tasks/vision/cache.py), shared by every experiment
outputs/<experiment>/
    config.yaml                the resolved config
    fold<k>/config.yaml        the config the fold was trained with
    fold<k>/provenance.json    the git commit, library versions and config changes it was trained with
    fold<k>/checkpoints/       best.ckpt, chosen on the validation metric (or the top-k epoch<n>.ckpt, to
                               average), and last.ckpt, written after every epoch, for --resume
    fold<k>/model.safetensors  the chosen weights, for inference without Lightning
    fold<k>/oof.csv            that fold's validation predictions from those weights (with TTA when on)
    fold<k>/oof_no_tta.csv     the same without TTA, when TTA is on
    fold<k>/oof_best.csv       the best single checkpoint's, when the chosen weights are an average
    fold<k>/metrics.json       the fold's scores; written last, so it marks the fold as finished
    fold<k>/logs/version_<n>/  the CSV log of each attempt (a resumed fold adds one)
    fold<k>/test_preds.csv     predict.py's: the fold's own test predictions (and test_preds.json), which
                               label the test rows for another experiment's fold k (data.pseudo_labels)
    fold<k>/wandb_run_id       the fold's W&B run, which --resume continues
    full/                      train.py --fold full: the refit on every training row, laid out as a fold but
                               with no OOF and no score; refit.json, written last, holds its epochs
    .fold<k>.lock              held while a process trains the fold
    wandb/offline-run-*/       W&B's runs when offline, for `wandb sync`
    oof.csv, cv.json           once every fold is finished: all OOF rows, one per training row, and the CV
    *.png                      pictures of the OOF: confusion matrix, ROC/PR, residuals, scores per fold
    submission.csv             written by predict.py
    test_preds.csv             written by predict.py too: the test rows' probabilities or values (the folds' mean,
                               before labels are chosen), in test.csv's order, for blend.py to combine;
    test_preds.json            the fingerprint of the oof.csv whose models made them: blend.py refuses stale ones
outputs/<experiment>/<experiment>_seed<s>/   with `seeds`: one run per seed, each laid out as an experiment above;
                               then outputs/<experiment>/ holds config.yaml, and oof.csv and cv.json of their mean
outputs/<experiment>_floor/    baseline.py's scikit-learn floor on the same folds: config.yaml, oof.csv, cv.json,
                               submission.csv, test_preds.csv, provenance.json
outputs/<blend>/               blend.py's blend or stack of experiments: config.yaml (its first member's), oof.csv
                               (scored out of sample), cv.json (its members, weights and honest CV),
                               test_preds.csv, submission.csv
"""

from __future__ import annotations

from pathlib import Path

CONFIG = "config.yaml"
WEIGHTS = "model.safetensors"
METRICS = "metrics.json"
REFIT = "refit.json"  # marks the full-data refit as finished, as metrics.json marks a fold
FULL = "full"  # the full-data refit, where a fold number goes: it validates on no row
CV = "cv.json"
PROVENANCE = "provenance.json"
SUBMISSION = "submission.csv"
TEST_PREDS = "test_preds.csv"
TEST_PREDS_SOURCE = "test_preds.json"  # which oof.csv the test predictions go with
CHECKPOINTS = "checkpoints"
BEST, LAST = "best", "last"  # checkpoint names, without .ckpt
LOGS = "logs"
WANDB_RUN_ID = "wandb_run_id"
FLOOR = "_floor"  # baseline.py's experiments, beside the experiment whose floor they are
CACHE = ".cache"  # under output_dir, beside the experiments: the decoded-image caches every experiment shares


def experiment_dir(output_dir: str | Path, experiment: str) -> Path:
    return Path(output_dir) / experiment


def named_or_folder(output_dir: str | Path, value: str) -> Path:
    """An experiment's folder from a config value that names it under output_dir, or is its folder (a seed's
    run refers to another experiment so: its own output_dir is its experiment's folder)."""
    return Path(value) if Path(value).name != value else experiment_dir(output_dir, value)


def cache_dir(output_dir: str | Path, configured: str | None) -> Path:
    """The decoded-image caches' folder: data.cache_dir where set, else output_dir/.cache."""
    return Path(configured or Path(output_dir) / CACHE)


def floor(experiment: str) -> str:
    """The name of the scikit-learn floor of an experiment (baseline.py): outputs/<experiment>_floor/."""
    return f"{experiment}{FLOOR}"


def seed_run(experiment: str, seed: int) -> str:
    """The name of one seed's run of an experiment trained with `seeds`, a folder inside the experiment's."""
    return f"{experiment}_seed{seed}"


def fold_name(fold: int | str) -> str:
    """fold<k>, or full for the full-data refit (FULL)."""
    return FULL if fold == FULL else f"fold{fold}"


def fold_dir(experiment: Path, fold: int | str) -> Path:
    return experiment / fold_name(fold)


def oof(folder: Path, variant: str = "") -> Path:
    """A fold's or the experiment's OOF file; `variant` is "", "_no_tta" or "_best"."""
    return folder / f"oof{variant}.csv"


def fold_lock(experiment: Path, fold: int | str) -> Path:
    return experiment / f".{fold_name(fold)}.lock"


def resume_checkpoint(fold: Path) -> Path | None:
    """The newest of last.ckpt (written every epoch) and a SLURM preemption's hpc_ckpt_<n>.ckpt, if any."""
    found = [*fold.glob(f"{CHECKPOINTS}/{LAST}.ckpt"), *fold.glob("hpc_ckpt_*.ckpt")]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None
