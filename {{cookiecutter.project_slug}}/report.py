"""Compare experiments: every finished one under outputs/, best CV first, with its per-fold std and tricks.

python report.py                     outputs/
python report.py --output_dir runs   another folder of experiments
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }} import cli
from {{ cookiecutter.module_name }}.report import print_report


@cli.entry
def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", default="outputs", help="the folder holding one folder per experiment")
    return print_report(parser.parse_args(argv).output_dir)


if __name__ == "__main__":
    main()
