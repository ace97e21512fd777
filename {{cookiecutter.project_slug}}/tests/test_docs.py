"""Every command the README and docs/ show runs here: in the order a competitor meets them, in a copy of the project
on the demo data, each through its script's main() with shorter training; a make target as `make -n` prints it;
the few that need a GPU, a cluster or the network name the test that runs them or the tool that does."""

import contextlib
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import PROJECT, outputs_and_caches

PAGES = [
    PROJECT / "README.md",
    *(
        PROJECT / "docs" / f"{page}.md"
        for page in ("cv", "data", "tricks", "endgame", "kaggle", "scale-out", "bench", "troubleshooting", "nlp")
    ),
]
SCRIPTS = ("train", "predict", "baseline", "blend", "bundle", "report", "bench")
# Shorter runs of the same commands: each command's own flags come after these, and win.
FAST = {
    "train": [
        "--cv.n_folds",
        "2",
        "--trainer.max_epochs",
        "2",
        "--trainer.limit_train_batches",
        "2",
        "--trainer.limit_val_batches",
        "1",
        "--optim.lr",
        "0.003",
    ],
    "bench": ["--steps", "4", "--repeats", "1", "--warmup", "1", "--sizes", ""],
}
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# What a placeholder of the docs stands for here.
PLACEHOLDERS = {
    "/kaggle/input/<competition>": "data/demo/digits",
    "EXP_A EXP_B": "vision_baseline vision_baseline_floor",
    "exp_a exp_b": "vision_baseline vision_baseline_floor",
    "--trainer.devices 4": "--trainer.devices 1",  # DDP with the one CPU process this machine gives a test
}
# Commands another test runs (it names the command's script and flags), or that only a GPU machine, a cluster or
# the network can run: the tool named says who runs them.
ELSEWHERE = {
    "python train.py --fold 0 --find-lr": "test_lightning.py::test_find_lr_apply_trains_the_fold_with_the_suggestion",
    "python scripts/parallel_folds.py": "test_scale.py::test_folds_run_in_parallel_then_merge_into_one_cv",
    "python bench.py --trainer.precision bf16-mixed": (
        "test_bench.py::test_the_gpu_path_trains_in_bf16_channels_last_compiled"  # on a GPU machine
    ),
    "make test": "the template's CI, which runs make test in each baked project",
    "make setup": "the template's CI, which sets a baked project up from its uv.lock",
    "kaggle ": "the Kaggle CLI itself; make download, submit, upload and submit-code call it (the template's tests)",
    "!cd /kaggle/input": "conftest.py::predict_from_bundle",  # as a notebook runs a bundle's predict.py
    "mkdir -p outputs/slurm && sbatch": "SLURM; scripts/slurm_folds.sbatch runs train.py --fold $SLURM_ARRAY_TASK_ID",
    "wandb sweep": (
        "W&B's agent, as in "
        "test_cv.py::test_a_sweep_trial_trains_each_fold_in_its_own_run_and_reports_the_cv_to_the_trial"
    ),
    "rm -r ": "test_shape.py::test_nothing_left_behind_imports_a_removed_part",
}


def commands(page: Path) -> list[str]:
    """The commands a page shows: each line of its bash blocks (continued lines joined), and the README's
    commands table."""
    text = page.read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(line.split("  #")[0].split())
            if command:
                found.append(command)
    if page.name == "README.md":
        found += re.findall(r"^\| `((?:python|make) [^`]+)` \|", text, re.M)
    return found


def documented() -> list[str]:
    return list(dict.fromkeys(command for page in PAGES if page.exists() for command in commands(page)))


def elsewhere(command: str) -> str | None:
    return next((who for prefix, who in ELSEWHERE.items() if command.startswith(prefix)), None)


def test_every_command_that_runs_elsewhere_names_a_test_running_its_flags():
    for command in documented():
        who = elsewhere(command)
        if who is None or "::" not in who:
            continue
        file, name = who.split(" ")[-1].split("::")
        source = (PROJECT / "tests" / file).read_text()
        assert f"def {name}(" in source, f"{command}: no test {who}"
        for flag in (word for word in shlex.split(command.split("&&")[-1]) if word.startswith("--")):
            assert flag in source or flag.split(".")[-1] in source, f"{command}: {file} does not pass {flag}"


@pytest.fixture
def sandbox(digits_dir, tmp_path, monkeypatch):
    """A copy of the project, its demo data in place, as the working folder."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root, ignore=outputs_and_caches, symlinks=True)
    (root / "data" / "demo").mkdir(parents=True)
    (root / "data" / "demo" / "digits").symlink_to(digits_dir)
    monkeypatch.chdir(root)
    return root


def run_script(command: str, capsys) -> None:
    """`python <script>.py ...` through the script's main(), with shorter training; it must end well."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = shlex.split(command)
    script = Path(words[1]).stem
    assert script in SCRIPTS, command
    own = words[2:]
    if script not in ("blend", "report"):  # those two read finished experiments only: no config, no flags
        config = [] if "--config" in own else ["--config", "configs/vision.yaml"]
        fast = FAST.get(script, FAST["train"] if script in ("train", "baseline") else [])
        if "--averaging.swa_start_epoch" in own:  # SWA needs epochs past its start
            fast = [*fast, "--trainer.max_epochs", str(int(own[own.index("--averaging.swa_start_epoch") + 1]) + 1)]
        own = [*config, *fast, *QUIET, *own]
    try:
        importlib.import_module(script).main(own)
    except SystemExit as stopped:
        assert stopped.code in (None, 0), f"{command}: exit {stopped.code}: {capsys.readouterr().err[-2000:]}"


def run_make(command: str) -> None:
    """A make target as `make -n` expands it: the target exists and its recipe names files that exist."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *shlex.split(command)[1:]],
        capture_output=True,
        text=True,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert done.returncode == 0, f"{command}: {done.stderr[-1000:]}"
    scripts = set(re.findall(r"\b(\w+\.py)\b", done.stdout))
    assert all(Path(script).exists() or Path("scripts", script).exists() for script in scripts), done.stdout


def test_every_documented_command_runs(sandbox, capsys):
    ran, timings = [], os.environ.get("DOCS_TIMINGS")
    for command in documented():
        started = time.perf_counter()
        if elsewhere(command):
            continue
        if command.startswith("python "):
            run_script(command, capsys)
        elif command.startswith("make "):
            run_make(command)
        else:
            pytest.fail(f"{command}: neither run here nor named in ELSEWHERE")
        ran.append(command)
        if timings:
            with open(timings, "a") as log:
                log.write(f"{time.perf_counter() - started:7.1f} s  {command}\n")
    assert len(ran) >= 30
    with contextlib.suppress(FileNotFoundError):
        assert (sandbox / "outputs" / "vision_baseline" / "submission.csv").is_file()
    sys.stdout.flush()
