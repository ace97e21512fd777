"""The scikit-learn floor (baseline.py): fitted on the experiments' own folds, written like an experiment,
and shown beside each deep experiment's CV."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from conftest import TINY, make_cfg

from baseline import main as baseline_main
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import folds_path
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.ensemble.report import experiments
from {{ cookiecutter.module_name }}.run import layout


@pytest.fixture(scope="module")
def floor_run(digits_dir, tmp_path_factory):
    """The demo's floor (5 folds) and one short 5-fold deep experiment beside it."""
    cfg = make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), **TINY)
    cfg = replace(cfg, cv=replace(cfg.cv, folds_dir=cfg.output_dir))  # the demo's folder stays as it is
    flags = ["--output_dir", cfg.output_dir, "--data.dir", cfg.data.dir, "--cv.folds_dir", cfg.output_dir]
    summary = baseline_main(flags)
    return cfg, summary


def test_the_floor_predicts_every_training_row_once_on_the_saved_folds(floor_run):
    cfg, summary = floor_run
    folder = layout.experiment_dir(cfg.output_dir, layout.floor(cfg.experiment))
    train_rows, oof = read_csv(f"{cfg.data.dir}/train.csv"), read_csv(layout.oof(folder))
    assert oof.id.tolist() == train_rows.id.tolist()  # each row once, in train.csv's order
    folds = read_csv(folds_path(cfg)).set_index("id").fold.astype(int)
    assert (oof.fold.astype(int).to_numpy() == folds.loc[oof.id].to_numpy()).all()  # the deep experiments' folds
    assert json.loads((folder / layout.CV).read_text()) == summary
    assert summary["cv"] > 0.9 and len(summary["folds"]) == 5 and summary["floor"].startswith("linear")
    submission, sample = read_csv(folder / layout.SUBMISSION), read_csv(f"{cfg.data.dir}/sample_submission.csv")
    assert submission.id.tolist() == sample.id.tolist() and set(submission.label) <= set(train_rows.label)
    # The probabilities behind the labels, for blend.py: in test.csv's order, the labels their argmax.
    test_preds = read_csv(folder / layout.TEST_PREDS).set_index("id").loc[submission.id].astype(float)
    assert (test_preds.to_numpy().argmax(axis=1).astype(str) == submission.label.to_numpy()).all()


def test_each_experiment_shows_its_margin_over_the_floor(floor_run, capsys):
    cfg, floor = floor_run
    deep = train(cfg, folds=range(5))["cv"]  # a few steps: well below the floor
    printed = capsys.readouterr().out
    assert f"CV {floor['cv']:.4f}; this experiment is {deep['cv'] - floor['cv']:+.4f} NOT above it" in printed
    table = experiments(cfg.output_dir).set_index("experiment")
    assert table.loc[cfg.experiment, "vs floor"] == pytest.approx(deep["cv"] - floor["cv"])
    assert pd.isna(table.loc[layout.floor(cfg.experiment), "vs floor"])
    assert table.loc[layout.floor(cfg.experiment), "model"] == "scikit-learn"
