"""Compare experiments: every finished one under outputs/, best CV first, with its per-fold std and tricks, and
its public leaderboard score where the Kaggle CLI lists a submission whose message is its name (make submit).

python report.py                      outputs/
python report.py --output_dir runs    another folder of experiments
python report.py --competition ""     without asking Kaggle for the scores
python report.py --details EXP        what each fold of EXP was trained with: commit, libraries, config changes
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.ensemble.report import print_details, print_report
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.submission.kaggle import COMPETITION


@cli.entry
def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="outputs", help="the folder holding one folder per experiment")
    parser.add_argument("--competition", default=COMPETITION, help="the Kaggle competition's slug, for its scores")
    parser.add_argument("--details", metavar="EXPERIMENT", help="one experiment's commits, libraries, config changes")
    args = parser.parse_args(argv)
    if args.details:
        return print_details(args.output_dir, args.details)
    return print_report(args.output_dir, args.competition)


if __name__ == "__main__":
    main()
