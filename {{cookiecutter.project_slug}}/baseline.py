"""The scikit-learn floor on the experiment's folds: logistic regression (ridge for regression) on downscaled
pixels, or on TF-IDF of the texts, written like an experiment to outputs/<experiment>_floor/ in seconds.

python baseline.py                              the floor of the default config's competition
python baseline.py --config configs/nlp.yaml    the texts' floor
python baseline.py --model boosting             histogram gradient boosting: a stronger floor on pixels, in minutes

Every deep experiment's CV should beat it: one below the floor is a bug until shown otherwise. report.py and
the end of train.py show each experiment's margin over it.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.config import parse_args
from {{ cookiecutter.module_name }}.ensemble.floor import MODELS, fit_floor
from {{ cookiecutter.module_name }}.run import cli


@cli.entry
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument(
        "--model", choices=MODELS, help="the estimator (default: linear; boosting is stronger on pixels and slower)"
    )
    args, cfg = parse_args(parser, argv)
    return fit_floor(cfg, args.model)


if __name__ == "__main__":
    main()
