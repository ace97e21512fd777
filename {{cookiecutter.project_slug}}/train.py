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

from {{ cookiecutter.module_name }}.config import ConfigError, load_config, parse_args
from {{ cookiecutter.module_name }}.cv.loop import parse_folds, parse_seeds, train
from {{ cookiecutter.module_name }}.cv.tune import run_finders
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.run.layout import FULL


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
        cfg = run_finders(args, cfg, folds[0])
        if cfg is None:
            return None
    return train(cfg, folds, force=args.force, resume=args.resume)


if __name__ == "__main__":
    main()
