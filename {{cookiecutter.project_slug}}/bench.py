"""Measure this machine: the project's Lightning loop against a plain PyTorch loop, the data pipeline, TTA
(vision) and padding (NLP). Nothing is written to outputs/.

python bench.py                                   the default config, fold 0
python bench.py --config configs/vision.yaml --steps 60 --repeats 5
python bench.py --trainer.precision bf16-mixed --model.channels_last true   any config key, as in train.py
python bench.py --photos 768 --steps 20           the image loader on 768-pixel JPEGs only ('' skips it)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }} import cli
from {{ cookiecutter.module_name }}.bench import bench
from {{ cookiecutter.module_name }}.bench_report import print_bench, print_photos
from {{ cookiecutter.module_name }}.config import parse_args


@cli.entry
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop, alternated")
    parser.add_argument("--warmup", type=int, default=5, help="first steps of each run left out of its time")
    parser.add_argument(
        "--photos", default="512,768", help="JPEG sides of the real-photo loader bench, comma-separated; '' skips it"
    )
    args, cfg = parse_args(parser, argv)
    sides = tuple(int(side) for side in args.photos.split(",") if side)
    report = bench(cfg, args.steps, args.repeats, args.warmup, sides)
    print_bench(report)
    if "photos" in report:
        print_photos(report["photos"])
    return report


if __name__ == "__main__":
    main()
