"""Train folds; once every fold is finished, merge their OOF predictions into oof.csv and cv.json.

python train.py --fold 0                         one fold with the default config
python train.py --fold 0,2                       a list of folds
python train.py --fold all                       every fold; folds finished before are skipped
python train.py --fold all --seeds 3             every fold once per seed (seed, seed+1, seed+2), and their mean
python train.py --fold full                      then one run on every training row, for the epochs the CV chose
python train.py --config configs/vision.yaml --fold 1 --trainer.max_epochs 3   any config key as a dotted flag
python train.py --fold 0 --find-lr               the LR finder's plot and suggestion (--find-lr apply: train with it)
python train.py --fold 0 --find-batch-size       the largest batch that fits (--find-batch-size apply: train with it)
python train.py --fold 0 --trainer.fast_dev_run 1   one batch of training and validation, nothing written
"""

import argparse
import sys
from pathlib import Path

# Runs without installing the package, as in an offline Kaggle kernel.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }} import cli
from {{ cookiecutter.module_name }}.config import Config, ConfigError, load_config, parse_args
from {{ cookiecutter.module_name }}.cv import train
from {{ cookiecutter.module_name }}.layout import FULL


def parse_folds(text: str, n_folds: int) -> list[int | str]:
    if text == "all":
        return list(range(n_folds))
    if text == FULL:
        return [FULL]
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


def tune(args: argparse.Namespace, cfg: Config, fold: int) -> Config | None:
    """Run the finders asked for; return the config to train with, or None when only finding."""
    from {{ cookiecutter.module_name }}.tuning import find_batch_size, find_lr, scaled_lrs

    found = []
    if args.find_batch_size:
        batch_size = find_batch_size(cfg, fold)
        found += ["--data.batch_size", str(batch_size)]
        print(f"batch-size finder: {batch_size} fits (data.batch_size is {cfg.data.batch_size})")
        cfg = load_config(args.config, [*args.overrides, *found])  # the LR finder then runs at that size
    if args.find_lr:
        plot = cfg.experiment_dir / f"lr_find_fold{fold}.png"
        lr = find_lr(cfg, fold, plot)
        found += scaled_lrs(cfg, lr)
        print(f"LR finder: suggested learning rate {lr:.3g} (optim.lr is {cfg.optim.lr}); plot: {plot}")
    if "apply" not in (args.find_lr, args.find_batch_size):
        print(f"to train with it: python train.py --fold {args.fold} {' '.join(found)}  (or add 'apply')")
        return None
    return load_config(args.config, [*args.overrides, *found])


@cli.entry
def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument(
        "--fold", default="0", help="a fold number, a comma-separated list, all, or full (the full-data refit)"
    )
    parser.add_argument("--force", action="store_true", help="retrain folds that finished before")
    parser.add_argument("--resume", action="store_true", help="continue unfinished folds from their last.ckpt")
    for finder in ("lr", "batch-size"):
        parser.add_argument(
            f"--find-{finder}",
            nargs="?",
            const="show",
            choices=["show", "apply"],
            help=f"run Lightning's {finder} finder on the first fold and print what it found; apply: train with it",
        )
    parser.add_argument("--seeds", help="train every fold once per seed: a number of seeds, or a list such as 1,7,42")
    args, cfg = parse_args(parser, argv)
    if args.seeds:  # the config key `seeds`, for the rest of the run (the finders reload the config)
        args.overrides += ["--seeds", f"[{','.join(map(str, parse_seeds(args.seeds, cfg.seed)))}]"]
        cfg = load_config(args.config, args.overrides)
    folds = parse_folds(args.fold, cfg.cv.n_folds)
    if args.find_lr or args.find_batch_size:
        if folds == [FULL]:
            raise ConfigError("--fold full trains with its folds' config: run the finders on a fold (--fold 0)")
        cfg = tune(args, cfg, folds[0])
        if cfg is None:
            return None
    return train(cfg, folds, force=args.force, resume=args.resume)


if __name__ == "__main__":
    main()
