"""Predict the test set with every trained fold, average them, and write a checked submission.csv.

python predict.py                                 outputs/<experiment>/submission.csv
python predict.py --config configs/vision.yaml    the experiment named in that config
python predict.py --data.dir /kaggle/input/comp   dotted flags override the config it was trained with
python predict.py --out /kaggle/working/submission.csv   write the submission there instead
"""

import argparse
import sys
from pathlib import Path

# Runs without installing the package, as in an offline Kaggle kernel.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.config import parse_args
from {{ cookiecutter.module_name }}.cv.state import trained_config
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.submission.predict import predict


@cli.entry
def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument(
        "--out", type=Path, help="where to write submission.csv (default: beside the experiment's folds)"
    )
    args, cfg = parse_args(parser, argv)
    return predict(trained_config(cfg, args.overrides), args.out)


if __name__ == "__main__":
    main()
