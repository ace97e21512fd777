"""Pack a trained experiment for a Kaggle notebook with the internet off: bundles/<experiment>/.

python bundle.py                                   the default config's experiment
python bundle.py --config configs/nlp.yaml         the experiment named in that config
kaggle datasets create -p bundles/<experiment> --dir-mode zip    then upload it (make upload does both)
"""

import argparse
import sys
from pathlib import Path

# Runs without installing the package, as in an offline Kaggle kernel.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.config import parse_args
from {{ cookiecutter.module_name }}.cv.state import trained_config
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle
from {{ cookiecutter.module_name }}.submission.kaggle import COMPETITION


@cli.entry
def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--out", type=Path, help="the bundle's folder (default: bundles/<experiment>)")
    parser.add_argument("--competition", default=COMPETITION, help="the Kaggle competition's slug, for the notebook")
    args, cfg = parse_args(parser, argv)
    folder = make_bundle(trained_config(cfg, args.overrides), args.out, args.competition)
    print(f"Wrote {folder}/: upload it with  kaggle datasets create -p {folder} --dir-mode zip")
    return folder


if __name__ == "__main__":
    main()
