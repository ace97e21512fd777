"""Submission formats of real competitions, recognised from sample_submission.csv: one probability column per class
(named as the classes, or with a prefix, in any order), a probability for a binary target or per label, several
targets in another order. predict.py writes the fold- and TTA-averaged probabilities (test_preds.csv) in the
sample's column order, and checks the result against the sample; what the sample asks and the config cannot give
is refused in one line."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, make_cfg

from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.run.errors import DataError
from {{ cookiecutter.module_name }}.submission.predict import predict

CLASSES = [str(digit) for digit in range(10)]


def with_sample(source: Path, tmp_path: Path, columns: list[str], value="0.1") -> Path:
    """A copy of the competition whose sample_submission.csv has `columns` after the id, each holding `value`."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train", "test", "train.csv", "test.csv"):
        (folder / name).symlink_to((source / name).resolve())
    ids = pd.read_csv(source / "sample_submission.csv", dtype=str)["id"]
    pd.DataFrame({"id": ids, **dict.fromkeys(columns, value)}).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def predicted(cfg, folder: Path, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """submission.csv and test_preds.csv as predict writes them on `folder`, both by id."""
    out = predict(replace(cfg, data=replace(cfg.data, dir=str(folder))), tmp_path / "out" / "submission.csv")
    submission = pd.read_csv(out, dtype={"id": str})
    assert list(submission.columns) == list(pd.read_csv(folder / "sample_submission.csv", nrows=0).columns)
    assert submission["id"].tolist() == pd.read_csv(folder / "sample_submission.csv", dtype=str)["id"].tolist()
    return submission.set_index("id"), pd.read_csv(out.with_name("test_preds.csv"), dtype={"id": str}).set_index("id")


@pytest.mark.parametrize("prefix", ["", "class_"])
def test_one_probability_column_per_class_in_the_samples_order(two_folds, tmp_path, prefix):
    order = ["3", "0", "9", "1", "2", "8", "4", "7", "5", "6"]
    folder = with_sample(Path(two_folds.data.dir), tmp_path, [prefix + c for c in order])
    submission, preds = predicted(two_folds, folder, tmp_path)
    for label in order:
        np.testing.assert_allclose(submission[prefix + label], preds.loc[submission.index, f"prob_{label}"], atol=1e-6)
    np.testing.assert_allclose(submission.sum(axis=1), 1.0, atol=1e-5)


def test_a_sample_of_probabilities_per_class_with_submission_label_is_refused(two_folds, tmp_path):
    folder = with_sample(Path(two_folds.data.dir), tmp_path, CLASSES)
    with pytest.raises(DataError, match=r"one probability column per class \(0, 1, 2, 3, \.\.\.\), but .* is label"):
        predicted(replace(two_folds, submission="label"), folder, tmp_path)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (CLASSES[:-1], r"has columns \['id', '0', .*'8'\], but this config writes 'id' and its target columns"),
        (["target"], r"target columns \['label'\] or one per class \(0, 1, 2, 3, \.\.\.\): set data.target_cols"),
        ([f"c{c}" for c in CLASSES[:-1]] + ["x9"], "set data.target_cols"),
    ],
    ids=["a class missing", "another target", "columns of no class"],
)
def test_a_sample_this_config_cannot_fill_is_refused_naming_its_columns(two_folds, tmp_path, columns, message):
    folder = with_sample(Path(two_folds.data.dir), tmp_path, columns)
    with pytest.raises(DataError, match=message):
        predicted(two_folds, folder, tmp_path)


@pytest.fixture(scope="module")
def binary(derived_dir, tmp_path_factory):
    """Two folds of a binary target: is_even, 'even' or 'odd' (the positive class, second in sorted order)."""
    folder = with_sample(derived_dir, tmp_path_factory.mktemp("binary"), ["is_even"], "0.5")
    cfg = make_cfg(folder, tmp_path_factory.mktemp("binary"), n_folds=2, **TINY)
    cfg = replace(cfg, problem="binary", data=replace(cfg.data, target_cols=["is_even"]))
    train(cfg, folds=[0, 1])
    return cfg


@pytest.mark.parametrize("value", ["0.5", "0"])
def test_a_binary_sample_of_probabilities_gets_the_positive_class(binary, derived_dir, tmp_path, value):
    """0.5 in the sample asks for probabilities; 0 does too where the metric is scored on them (roc_auc)."""
    cfg = binary if value == "0.5" else replace(binary, metric="roc_auc")
    submission, preds = predicted(cfg, with_sample(derived_dir, tmp_path, ["is_even"], value), tmp_path)
    np.testing.assert_allclose(submission["is_even"], preds.loc[submission.index, "prob_odd"], atol=1e-6)
    assert not set(np.round(submission["is_even"], 6)) <= {0.0, 1.0}


def test_a_binary_sample_of_labels_gets_labels(binary, derived_dir, tmp_path):
    submission, preds = predicted(binary, with_sample(derived_dir, tmp_path, ["is_even"], "even"), tmp_path)
    expected = np.where(preds.loc[submission.index, "prob_odd"] > 0.5, "odd", "even")
    assert submission["is_even"].tolist() == expected.tolist()


def test_a_binary_sample_with_a_column_per_class_gets_both_probabilities(binary, derived_dir, tmp_path):
    submission, preds = predicted(binary, with_sample(derived_dir, tmp_path, ["odd", "even"]), tmp_path)
    np.testing.assert_allclose(submission["odd"], preds.loc[submission.index, "prob_odd"], atol=1e-6)
    np.testing.assert_allclose(submission["even"], 1 - submission["odd"], atol=1e-6)


@pytest.fixture(scope="module")
def several(derived_dir, tmp_path_factory):
    """Two folds of each problem with several targets: multilabel (even, big) and regression (value, big)."""
    runs = {}
    problems = (("multilabel", ["even", "big"], "f1_macro"), ("regression", ["value", "big"], "rmse"))
    for kind, targets, metric in problems:
        folder = with_sample(derived_dir, tmp_path_factory.mktemp(kind), targets, "0.5")
        cfg = make_cfg(folder, tmp_path_factory.mktemp(kind), n_folds=2, **TINY)
        cfg = replace(cfg, problem=kind, metric=metric, data=replace(cfg.data, target_cols=targets))
        cfg = replace(cfg, cv=replace(cfg.cv, splitter="kfold"))
        train(cfg, folds=[0, 1])
        runs[kind] = cfg
    return runs


@pytest.mark.parametrize(("kind", "value"), [("multilabel", "0.5"), ("multilabel", "0"), ("regression", "2.5")])
def test_several_targets_in_the_samples_order(several, derived_dir, tmp_path, kind, value):
    cfg = several[kind]
    columns = list(reversed(cfg.data.target_cols))
    submission, preds = predicted(cfg, with_sample(derived_dir, tmp_path, columns, value), tmp_path)
    for column in columns:
        expected = preds.loc[submission.index, f"pred_{column}"]
        if kind == "multilabel" and value == "0":  # labels: 0 or 1 per label
            expected = (expected > 0.5).astype(int)
        np.testing.assert_allclose(submission[column], expected, atol=1e-6)


def test_the_sample_copied_from_the_competition_keeps_its_layout(two_folds, tmp_path):
    """The demo's own sample (id, label) still gets labels, as before."""
    folder = tmp_path / "copy"
    shutil.copytree(two_folds.data.dir, folder, symlinks=True, ignore=shutil.ignore_patterns("folds-*"))
    submission, preds = predicted(two_folds, folder, tmp_path)
    expected = preds.loc[submission.index, [f"prob_{c}" for c in CLASSES]].to_numpy().argmax(axis=1)
    assert submission["label"].tolist() == expected.tolist()
