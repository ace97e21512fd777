"""Blend or stack finished experiments on their OOF predictions, with a CV scored on rows the weights were not
fitted on, and write the blend like an experiment: outputs/<name>/ with oof.csv, cv.json, test_preds.csv and
submission.csv. Each member needs its cv.json (train.py --fold all) and test_preds.csv (predict.py).

python blend.py EXP_A EXP_B                      hill-climbed weights, >= 0 and summing to 1, for the metric
python blend.py --all                            every finished experiment under outputs/ (blends aside)
python blend.py EXP_A EXP_B --method mean        the plain mean; rank: the mean of ranks (roc_auc)
python blend.py EXP_A EXP_B --method stack       a level-2 logistic (ridge) regression; --model boosting
python blend.py EXP_A EXP_B --name final         outputs/final/ (default: <method>_<member>_and_<member>...)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.ensemble.blending import METHODS, blend, default_name
from {{ cookiecutter.module_name }}.ensemble.floor import MODELS
from {{ cookiecutter.module_name }}.ensemble.members import check_blend_name, finished, load_members
from {{ cookiecutter.module_name }}.run import cli
from {{ cookiecutter.module_name }}.run.errors import UserError


@cli.entry
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("experiments", nargs="*", help="the members: experiment names under --output_dir")
    parser.add_argument("--all", action="store_true", help="every finished experiment with test predictions")
    parser.add_argument("--method", choices=METHODS, default="hill", help="how the members are combined")
    parser.add_argument("--model", choices=MODELS, help="stack: the level-2 model (default: linear)")
    parser.add_argument("--name", help="the blend's folder under --output_dir")
    parser.add_argument("--output_dir", default="outputs", help="the folder holding one folder per experiment")
    args = parser.parse_args(argv)
    if args.all == bool(args.experiments):
        raise UserError("name the experiments to blend, or give --all, not both")
    if args.model and args.method != "stack":
        raise UserError(f"--model {args.model} chooses the stack's level-2 model: give --method stack too")
    names = finished(args.output_dir) if args.all else args.experiments
    name = args.name or default_name(args.method, args.model, names)
    check_blend_name(args.output_dir, name, names)
    return blend(load_members(args.output_dir, names), args.method, name, args.output_dir, args.model or "linear")


if __name__ == "__main__":
    main()
