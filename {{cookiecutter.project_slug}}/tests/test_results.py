"""What a CV run leaves to look at: pictures of the OOF, each fold's provenance, and the report that compares
experiments (report.py, with the endgame: its tests skip once src/<package>/ensemble/ is removed)."""

import json
import shutil
import subprocess
from dataclasses import replace
from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, make_cfg, needs
from PIL import Image

from {{ cookiecutter.module_name }}.cv.fold import start_fold_dir
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.plots import save_oof_plots
from {{ cookiecutter.module_name }}.data.problem import Problem
from {{ cookiecutter.module_name }}.run import provenance

PNG = b"\x89PNG\r\n\x1a\n"


def assert_picture(path):
    """A PNG that decodes, of a real size, not a blank canvas."""
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 8_000, path
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"))
    assert min(pixels.shape) > 200 and pixels.std() > 10, path


@pytest.fixture(scope="module")
def two_runs(digits_dir, tmp_path_factory):
    """Two 2-fold experiments, the second with fewer steps and label smoothing."""
    outputs = tmp_path_factory.mktemp("outputs")
    first = replace(make_cfg(digits_dir, outputs, n_folds=2, **TINY), experiment="longer")
    second = replace(first, experiment="shorter", trainer=replace(first.trainer, limit_train_batches=2))
    second = replace(second, optim=replace(second.optim, label_smoothing=0.1))
    return [(cfg, train(cfg, folds=[0, 1])["cv"]) for cfg in (first, second)]


def test_a_cv_run_saves_its_plots_beside_cv_json(two_runs):
    cfg, _ = two_runs[0]
    for name in ("confusion_matrix.png", "fold_scores.png"):
        assert_picture(cfg.experiment_dir / name)
    assert not (cfg.experiment_dir / "roc_pr.png").exists()  # multiclass: no ROC curve


def rows(kind, targets, preds, columns):
    frame = pd.DataFrame(targets, columns=columns)
    problem = Problem.from_train(kind, columns, frame.astype(str), "test")  # read as text, as train.csv is
    return problem, pd.concat([frame, pd.DataFrame(preds, columns=problem.pred_columns)], axis=1)


@pytest.mark.parametrize(
    ("kind", "files"),
    [
        ("binary", {"confusion_matrix.png", "roc_pr.png"}),
        ("regression", {"regression.png"}),
        ("multilabel", {"confusion_matrix.png"}),
    ],
)
def test_each_problem_gets_its_plots(kind, files, tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, (200, 2)).astype(float)
    noisy = np.clip(truth + rng.normal(0, 0.4, truth.shape), 0, 1)
    if kind == "binary":
        problem, oof = rows(kind, np.where(truth[:, 0] > 0, "yes", "no"), noisy[:, :1], ["label"])
    elif kind == "regression":
        problem, oof = rows(kind, truth * 10, truth * 10 + rng.normal(0, 1, truth.shape), ["a", "b"])
    else:
        problem, oof = rows(kind, truth.astype(int), noisy, ["a", "b"])
    result = {"metric": "m", "folds": [0.7, 0.8], "cv": 0.75}
    paths = save_oof_plots(problem, oof, result, tmp_path)
    assert {path.name for path in paths} == files | {"fold_scores.png"}
    for path in paths:
        assert_picture(path)


@needs("ensemble")
def test_the_report_lists_experiments_best_first_with_their_tricks(two_runs, capsys):
    from report import main as report_main

    first, second = two_runs
    table = report_main(["--output_dir", first[0].output_dir, "--competition", ""])  # not asking Kaggle
    best, worst = sorted(two_runs, key=lambda run: run[1]["cv"], reverse=True)
    assert table.experiment.tolist() == [best[0].experiment, worst[0].experiment]
    assert table.cv.tolist() == [best[1]["cv"], worst[1]["cv"]]
    assert table.set_index("experiment").loc["shorter", "fold std"] == pytest.approx(second[1]["std"])
    assert "label smoothing 0.1" in table.set_index("experiment").loc["shorter", "tricks"]
    printed = capsys.readouterr().out
    assert printed.index(best[0].experiment) < printed.index(worst[0].experiment)


@needs("ensemble")
def test_a_lower_is_better_metric_ranks_the_lowest_first(two_runs, tmp_path):
    import shutil

    from {{ cookiecutter.module_name }}.ensemble.report import experiments

    for (cfg, _), cv in zip(two_runs, (0.3, 0.2), strict=True):
        folder = tmp_path / cfg.experiment
        shutil.copytree(cfg.experiment_dir, folder)
        result = json.loads((folder / "cv.json").read_text())
        (folder / "cv.json").write_text(
            json.dumps({**result, "metric": "log_loss", "higher_is_better": False, "cv": cv})
        )
    assert experiments(tmp_path).experiment.tolist() == ["shorter", "longer"]


@needs("ensemble")
def test_the_report_puts_the_best_public_score_beside_each_submitted_cv(two_runs, monkeypatch, capsys):
    from {{ cookiecutter.module_name }}.ensemble import report
    from report import main as report_main

    asked = []
    lb = {"longer": [0.5, 0.75], "someone else's": [0.99]}
    monkeypatch.setattr(report, "leaderboard_scores", lambda competition: asked.append(competition) or lb)
    table = report_main(["--output_dir", two_runs[0][0].output_dir, "--competition", "digit-recognizer"])
    assert asked == ["digit-recognizer"]
    scores = table.set_index("experiment").lb
    assert scores["longer"] == 0.75 and pd.isna(scores["shorter"])  # the best of two; never submitted
    assert "0.7500" in capsys.readouterr().out
    monkeypatch.setattr(report, "leaderboard_scores", lambda competition: None)  # offline, or no login
    table = report_main(["--output_dir", two_runs[0][0].output_dir, "--competition", "digit-recognizer"])
    assert "lb" not in table
    printed = capsys.readouterr().out
    assert "no leaderboard scores: the Kaggle CLI could not list digit-recognizer's submissions" in printed


def git_project(tmp_path, monkeypatch):
    """A project in git with the task's shipped configs, where provenance looks; and a function running git in it."""
    project = tmp_path / "project"
    shutil.copytree(provenance.PROJECT / "configs", project / "configs")

    def git(*args):
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
        return subprocess.run(command, cwd=project, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "first")
    monkeypatch.setattr(provenance, "PROJECT", project)
    return project, git


def folds_from_three_commits(tiny, project, git):
    """Folds 0, 1 and 2 started (as train.py starts them) at a commit, with a change not committed, and at the
    next commit; the commits."""
    cfg = replace(tiny, optim=replace(tiny.optim, lr=0.01))
    start_fold_dir(cfg, 0, resume=False)  # what train.py does before a fold trains
    first = git("rev-parse", "HEAD")
    (project / "configs" / "mine.yaml").write_text("experiment: mine\n")  # a new file, not committed
    start_fold_dir(cfg, 1, resume=False)
    git("add", ".")
    git("commit", "-qm", "second")
    start_fold_dir(cfg, 2, resume=False)
    return cfg, first, git("rev-parse", "HEAD")


def test_each_fold_records_its_commit_libraries_and_config_changes(tiny, tmp_path, monkeypatch):
    cfg, first, second = folds_from_three_commits(tiny, *git_project(tmp_path, monkeypatch))
    record = json.loads((cfg.fold_dir(0) / "provenance.json").read_text())
    assert record["commit"] == first and record["dirty"] is False
    assert record["versions"]["torch"] == version("torch") and record["versions"]["lightning"] == version("lightning")
    assert "optim.lr: 0.003 -> 0.01" in record["config_changes"]
    assert json.loads((cfg.fold_dir(1) / "provenance.json").read_text())["dirty"] is True
    assert json.loads((cfg.fold_dir(2) / "provenance.json").read_text())["commit"] == second


@needs("ensemble")
def test_folds_from_different_code_show_in_the_report_and_its_details(tiny, tmp_path, monkeypatch, capsys):
    from {{ cookiecutter.module_name }}.ensemble import report
    from report import main as report_main

    cfg, first, second = folds_from_three_commits(tiny, *git_project(tmp_path, monkeypatch))
    assert report.commits(cfg.experiment_dir) == ", ".join(sorted([first[:7], f"{first[:7]}+", second[:7]]))
    report_main(["--output_dir", str(cfg.output_dir), "--details", cfg.experiment])
    printed = capsys.readouterr().out
    assert f"fold0: commit {first}\n" in printed and f"fold1: commit {first} with changes not committed" in printed
    assert "optim.lr: 0.003 -> 0.01" in printed


@needs("ensemble")
def test_report_skips_an_unreadable_experiment_and_lists_the_rest(tmp_path, capsys):
    from report import main as report_main

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "cv.json").write_text("{not json")
    report_main(["--output_dir", str(tmp_path)])
    assert "skipped" in capsys.readouterr().out
