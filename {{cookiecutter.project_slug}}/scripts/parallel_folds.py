"""Train folds in parallel, one process per GPU, then merge them into oof.csv and cv.json.

python scripts/parallel_folds.py --devices 0,1,2,3 -- --config configs/vision.yaml --trainer.max_epochs 20
python scripts/parallel_folds.py --devices 0,1 --fold 0,2,4 -- --trainer.precision bf16-mixed

Each fold is `train.py --fold k` with the flags after `--`, on one GPU (CUDA_VISIBLE_DEVICES), its output in
outputs/<experiment>/logs/fold<k>.log; a GPU takes the next fold when its fold ends. A device `cpu` runs
a fold on the CPU instead. Finished folds are skipped, as with train.py.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "src"))

from {{ cookiecutter.module_name }}.config import ConfigError, parse_args, save_config  # noqa: E402
from {{ cookiecutter.module_name }}.cv.split import load_competition, save_folds  # noqa: E402
from {{ cookiecutter.module_name }}.cv.tune import resolve_all  # noqa: E402
from {{ cookiecutter.module_name }}.run import cli, layout  # noqa: E402


@cli.entry
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", required=True, help="GPU indices (or cpu), one fold at a time on each: 0,1,2,3")
    parser.add_argument("--fold", default="all", help="the folds: all, or a list such as 0,2,4")
    argv = sys.argv[1:] if argv is None else argv
    ours, flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(ours)
    known, cfg = parse_args(argparse.ArgumentParser(), flags)
    config = ["--config", known.config, *known.overrides]
    try:
        folds = list(range(cfg.cv.n_folds)) if args.fold == "all" else [int(k) for k in args.fold.split(",")]
    except ValueError:
        raise ConfigError(f"--fold {args.fold!r}: give all, or a list of fold numbers such as 0,2,4") from None
    # The folds file and the auto choices (config.yaml, which each fold then keeps), written once before the
    # processes that read them start: one LR finder, not one per process.
    competition = load_competition(cfg)
    save_folds(cfg, competition.folds)
    save_config(resolve_all(cfg, competition), cfg.experiment_dir / layout.CONFIG)
    logs = cfg.experiment_dir / layout.LOGS
    logs.mkdir(parents=True, exist_ok=True)
    failed = run_folds(folds, args.devices.split(","), config, logs)
    if failed:
        print(f"folds {', '.join(map(str, failed))} failed: see their logs in {logs}/; rerun to continue")
        return 1
    # Every fold is finished now: this skips them all and writes (or prints) the CV.
    return subprocess.run([sys.executable, str(PROJECT / "train.py"), "--fold", "all", *config], cwd=PROJECT).returncode


def start(fold: int, device: str, config: list[str], logs: Path) -> subprocess.Popen:
    """`train.py --fold <fold>` on one GPU (or the CPU), its output in logs/fold<k>.log."""
    env = dict(os.environ)
    if device == "cpu":
        place = ["--trainer.accelerator", "cpu", "--trainer.devices", "1"]
    else:
        env["CUDA_VISIBLE_DEVICES"], place = device, ["--trainer.devices", "1"]
    command = [sys.executable, str(PROJECT / "train.py"), "--fold", str(fold), *config, *place]
    with open(logs / f"fold{fold}.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT)
    print(f"fold {fold}: started on {device}, log {logs / f'fold{fold}.log'}")
    return process


def run_folds(folds: list[int], free: list[str], config: list[str], logs: Path) -> list[int]:
    """Each fold on the next free device until every fold has run; the folds that failed."""
    queue, running, failed = list(folds), {}, []
    while queue or running:
        while queue and free:
            fold, device = queue.pop(0), free.pop(0)
            running[start(fold, device, config, logs)] = (fold, device)
        time.sleep(1)
        for process in [p for p in running if p.poll() is not None]:
            fold, device = running.pop(process)
            free.append(device)
            print(f"fold {fold}: {'finished' if process.returncode == 0 else f'FAILED (exit {process.returncode})'}")
            if process.returncode:
                failed.append(fold)
    return failed


if __name__ == "__main__":
    sys.exit(main())
