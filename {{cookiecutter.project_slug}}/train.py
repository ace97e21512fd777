"""Train folds; once every fold is finished, merge their OOF predictions into oof.csv and cv.json.

python train.py --fold 0                         one fold with the default config
python train.py --fold 0,2                       a list of folds
python train.py --fold all                       every fold; folds finished before are skipped
python train.py --config configs/vision.yaml --fold 1 --trainer.max_epochs 3   any config key as a dotted flag
"""

import argparse
import os
import sys
from pathlib import Path

# Runs without installing the package, as in an offline Kaggle kernel.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would ask PyPI for updates

from {{ cookiecutter.module_name }}.config import ConfigError, parse_args
from {{ cookiecutter.module_name }}.cv import train


def parse_folds(text: str, n_folds: int) -> list[int]:
    if text == "all":
        return list(range(n_folds))
    try:
        folds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--fold {text!r}: give a fold number, a list such as 0,2, or all") from None
    for fold in folds:
        if not 0 <= fold < n_folds:
            raise ConfigError(f"--fold {fold}: folds are numbered 0 to {n_folds - 1} (cv.n_folds is {n_folds})")
    return folds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--fold", default="0", help="a fold number, a comma-separated list, or all")
    parser.add_argument("--force", action="store_true", help="retrain folds that finished before")
    parser.add_argument("--resume", action="store_true", help="continue unfinished folds from their last.ckpt")
    args, cfg = parse_args(parser, argv)
    try:
        folds = parse_folds(args.fold, cfg.cv.n_folds)
    except ConfigError as error:
        parser.exit(2, f"error: {error}\n")
    return train(cfg, folds, force=args.force, resume=args.resume)


if __name__ == "__main__":
    main()
