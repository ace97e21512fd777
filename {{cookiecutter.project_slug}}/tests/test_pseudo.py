"""Pseudo-labels (data.pseudo_labels): the test rows, soft-labelled by another experiment's models of the same
fold, join each fold's training rows; validation rows are never touched, and sources that would leak are refused."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, make_cfg, needs

from {{ cookiecutter.module_name }}.config import ConfigError
from {{ cookiecutter.module_name }}.cv.artefacts import write_cv_json
from {{ cookiecutter.module_name }}.cv.fold import build_module_and_data
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.seeds import seed_config
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.run import layout
from {{ cookiecutter.module_name }}.run.errors import UserError
from {{ cookiecutter.module_name }}.submission.predict import predict

CLASSES = [f"prob_{k}" for k in range(10)]


@pytest.fixture(scope="module")
def source(digits_dir, tmp_path_factory):
    """Two folds of one short epoch, predicted: each fold's test predictions are kept."""
    cfg = replace(make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), n_folds=2, **TINY), experiment="source")
    train(cfg, folds=[0, 1])
    predict(cfg)
    return cfg


def pseudo(source, **data):
    return replace(source, experiment="pseudo", data=replace(source.data, pseudo_labels="source", **data))


def fold_labels(cfg, fold) -> np.ndarray:
    return read_csv(cfg.fold_dir(fold) / layout.TEST_PREDS)[CLASSES].astype(float).to_numpy(dtype=np.float32)


def test_the_test_rows_join_the_training_rows_labelled_by_the_same_folds_models(source):
    cfg = pseudo(source)
    competition = load_competition(cfg)
    train_table, n_test = competition.train, len(competition.test)
    assert not np.allclose(fold_labels(source, 0), fold_labels(source, 1)), "each fold has its own models"
    for fold in (0, 1):
        _, data = build_module_and_data(cfg, competition, fold)
        valid = train_table[train_table.fold == fold]
        # The validation rows are the fold's, with their own labels, and nothing else.
        assert data.valid_rows.id.tolist() == valid.id.tolist() and len(data.valid_set) == len(valid)
        valid_targets = np.array([int(data.valid_set[i]["target"]) for i in range(len(valid))])
        assert valid_targets.tolist() == competition.problem.encode(valid).tolist()
        # The training set: the other folds' rows (one-hot), then every test row with fold k's soft labels.
        train_rows = train_table[train_table.fold != fold]
        assert data.pseudo_rows == n_test and len(data.train_set) == len(train_rows) + n_test
        targets = data.train_set.targets
        np.testing.assert_array_equal(targets[: len(train_rows)].argmax(axis=1), competition.problem.encode(train_rows))
        np.testing.assert_allclose(targets[len(train_rows) :], fold_labels(source, fold), atol=1e-6)
        paths = [path.as_posix() for path in data.train_set.paths]
        assert all("/test/" in path for path in paths[len(train_rows) :])
        assert not any(
            "/test/" in path for path in paths[: len(train_rows)] + [p.as_posix() for p in data.valid_set.paths]
        )


def test_a_seeds_run_and_the_image_cache_take_the_pseudo_labels_too(source):
    # Each seed's run lives inside its experiment's folder: the source is still found where it is.
    cfg = replace(pseudo(source), seeds=[1, 2], data=replace(pseudo(source).data, cache=True))
    competition = load_competition(cfg)
    _, data = build_module_and_data(seed_config(cfg, 2), competition, 0)
    n_train = int((competition.train.fold != 0).sum())
    assert data.pseudo_rows == len(competition.test) and data.train_set.cache is not None
    # A test image is not in train.csv's cache: it is read from its file.
    assert data.train_set[n_train]["image"].shape[-1] == cfg.data.image_size
    np.testing.assert_allclose(data.train_set.targets[n_train:], fold_labels(source, 0), atol=1e-6)


def test_a_threshold_keeps_the_sure_rows(source):
    top = fold_labels(source, 1).max(axis=1)
    threshold = float(np.median(top))  # about half the rows: the tiny source is unsure of them all
    cfg = pseudo(source, pseudo_threshold=threshold)
    competition = load_competition(cfg)
    _, data = build_module_and_data(cfg, competition, 1)
    sure = top >= threshold
    assert 0 < sure.sum() < len(sure), "the case must keep some rows and drop others"
    assert data.pseudo_rows == sure.sum()
    np.testing.assert_allclose(data.train_set.targets[-data.pseudo_rows :], fold_labels(source, 1)[sure], atol=1e-6)


def test_a_pseudo_labelled_experiment_trains_and_its_oof_holds_only_training_rows(source):
    cfg = pseudo(source)
    result = train(cfg, folds=[0, 1])
    oof = read_csv(layout.oof(cfg.experiment_dir))
    assert sorted(oof.id) == sorted(read_csv(f"{cfg.data.dir}/train.csv").id) and result["cv"] is not None


@needs("ensemble")
def test_the_report_names_a_pseudo_labelled_experiments_source_and_a_floor_is_no_source(source):
    from baseline import main as baseline_main
    from {{ cookiecutter.module_name }}.ensemble.report import experiments

    cfg = pseudo(source)
    train(cfg, folds=[0, 1])  # trained by the test above (its folds skipped), or here
    tricks = experiments(cfg.output_dir).set_index("experiment").tricks
    assert "pseudo-labels of source (>= 0)" in tricks["pseudo"] and "pseudo" not in tricks["source"]
    # A floor keeps no per-fold predictions.
    baseline_main(["--config", str(source.experiment_dir / layout.CONFIG)])
    before = sorted(Path(cfg.output_dir).rglob("*"))
    with pytest.raises(ConfigError, match="scikit-learn floor"):
        train(replace(cfg, experiment="from_floor", data=replace(cfg.data, pseudo_labels="source_floor")), folds=[0])
    assert sorted(Path(cfg.output_dir).rglob("*")) == before, "nothing is written"


def test_sources_that_would_leak_or_cannot_label_are_refused(source):
    def refused(cfg, error, match):
        before = sorted(Path(cfg.output_dir).rglob("*"))
        with pytest.raises(error, match=match):
            train(cfg, folds=[0])
        assert sorted(Path(cfg.output_dir).rglob("*")) == before, "nothing is written"

    cfg = pseudo(source)
    refused(replace(cfg, experiment="source"), ConfigError, "'source' is this experiment")
    refused(replace(cfg, data=replace(cfg.data, pseudo_labels="nothing")), ConfigError, "'nothing' is not a finished")
    # A source made on other folds: its fold-k models trained on rows this experiment validates fold k on.
    moved = layout.experiment_dir(source.output_dir, "moved")
    shutil.copytree(source.experiment_dir, moved)
    oof = read_csv(layout.oof(moved))
    oof.assign(fold=1 - oof.fold.astype(int)).to_csv(layout.oof(moved), index=False)
    write_cv_json(json.loads((moved / layout.CV).read_text()), moved)  # as its own merge of those folds wrote it
    refused(replace(cfg, data=replace(cfg.data, pseudo_labels="moved")), ConfigError, "'moved' was made on other folds")
    # Test predictions older than the folds (retrained since): their fingerprint is of another oof.csv.
    stale = layout.experiment_dir(source.output_dir, "stale")
    shutil.copytree(source.experiment_dir, stale)
    layout.oof(stale).write_text(layout.oof(stale).read_text() + "\n")
    write_cv_json(json.loads((stale / layout.CV).read_text()), stale)  # merged again, not predicted again
    refused(replace(cfg, data=replace(cfg.data, pseudo_labels="stale")), UserError, "run python predict.py")
    mixed = replace(cfg, mixup=replace(cfg.mixup, mixup_alpha=0.2))
    refused(mixed, ConfigError, "mixup mixes class indices")
    refused(replace(cfg, data=replace(cfg.data, skip_bad_rows=True)), ConfigError, "blank input")
    assert json.loads((source.experiment_dir / layout.CV).read_text())["cv"] >= 0  # the source is untouched
