"""Measure this machine: the project's Lightning loop against a plain PyTorch loop, the data pipeline, TTA
(vision) and padding (NLP), the inputs at real sizes, and train.py --fold 0 against a hand-written fold, each
a whole process. Nothing is written to outputs/.

python bench.py                                   the default config, fold 0
python bench.py --config configs/vision.yaml --steps 60 --repeats 5
python bench.py --trainer.precision bf16-mixed --model.channels_last true   any config key, as in train.py
python bench.py --sizes 768 --steps 20            images: the loader on 768-pixel JPEGs only ('' skips it)
{% if cookiecutter.task != "vision" -%}
python bench.py --config configs/nlp.yaml         texts: 512-token essays on a t5-small-sized encoder
{% endif -%}
python bench.py --fold-repeats 3                  also train.py --fold 0 against a hand-written fold, 3 times each
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from {{ cookiecutter.module_name }}.bench.measure import bench_and_print
from {{ cookiecutter.module_name }}.config import parse_args
from {{ cookiecutter.module_name }}.run import cli


@cli.entry
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False
    )
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop, alternated")
    parser.add_argument("--warmup", type=int, default=5, help="first steps of each run left out of its time")
    parser.add_argument(
        "--sizes",
        default=None,
        help="the real sizes the task's inputs are measured at, comma-separated: JPEG sides (images; default "
        "512,768) or tokens (texts; default 512); '' skips them",
    )
    parser.add_argument(
        "--fold-repeats",
        type=int,
        default=0,
        help="whole-process runs of train.py --fold 0 and of a hand-written fold, alternated (each trains a whole "
        "fold: minutes on the demo, hours on a real competition); 0, the default, skips them",
    )
    args, cfg = parse_args(parser, argv)
    return bench_and_print(args, cfg, Path(__file__).resolve().parent)


if __name__ == "__main__":
    main()
