from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import make_cfg

from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.run.errors import DataError, UserError
from {{ cookiecutter.module_name }}.submission.predict import predict, predict_fold
from {{ cookiecutter.module_name }}.submission.table import validate_submission


def test_submission_is_the_fold_mean_in_the_sample_layout(two_folds):
    path = predict(two_folds)
    submission = pd.read_csv(path)
    sample = pd.read_csv(f"{two_folds.data.dir}/sample_submission.csv")
    assert list(submission.columns) == list(sample.columns)
    assert submission["id"].tolist() == sample["id"].tolist()
    competition = load_competition(two_folds)
    mean = np.mean([predict_fold(two_folds, competition, k, "cpu") for k in range(2)], axis=0)
    assert submission["label"].tolist() == mean.argmax(axis=1).tolist()  # digits' classes are 0..9
    assert path == two_folds.experiment_dir / "submission.csv"
    # The probabilities behind the labels, kept for blend.py, in test.csv's order.
    test_preds = pd.read_csv(path.with_name("test_preds.csv"))
    assert test_preds["id"].tolist() == competition.test["id"].tolist()
    assert list(test_preds.columns[1:]) == [f"prob_{k}" for k in range(10)]
    np.testing.assert_allclose(test_preds.iloc[:, 1:].to_numpy(), mean, atol=1e-6)
    assert not list(path.parent.glob(".submission.csv.*"))  # no temporary file left behind


def test_predict_reads_the_data_without_writing_to_it(two_folds, tmp_path):
    """A Kaggle kernel's /kaggle/input is read-only: predict needs no folds file there."""
    import shutil

    kaggle_input = tmp_path / "input"
    shutil.copytree(two_folds.data.dir, kaggle_input, ignore=shutil.ignore_patterns("folds-*"))
    before = sorted(p.name for p in kaggle_input.iterdir())
    predict(replace(two_folds, data=replace(two_folds.data, dir=str(kaggle_input))))
    assert sorted(p.name for p in kaggle_input.iterdir()) == before


def test_probability_submission_is_refused_when_the_sample_wants_labels(two_folds):
    with pytest.raises(DataError, match=r"probability for a multiclass target takes one column per class, and "):
        predict(replace(two_folds, submission="probability"))


def test_predict_without_trained_folds_says_what_to_run(digits_dir, tmp_path):
    with pytest.raises(UserError, match=r"run python train\.py --fold all first"):
        predict(make_cfg(digits_dir, tmp_path))


SAMPLE = pd.DataFrame({"id": ["a", "b", "c"], "label": [0, 0, 0]})


@pytest.mark.parametrize(
    ("submission", "message"),
    [
        (SAMPLE.iloc[[1, 0, 2]], r"ids differ .* from row 0: 'b' where the sample has 'a'"),
        (SAMPLE.iloc[:2], "submission has 2 rows, sample_submission.csv has 3"),
        (SAMPLE.assign(label=[1.0, np.nan, 2.0]), r"1 NaN, infinite or non-numeric values, first in column 'label'"),
        (SAMPLE.assign(label=[1.0, np.inf, 2.0]), "NaN, infinite"),
        (SAMPLE.rename(columns={"label": "target"}), r"columns \['id', 'target'\] differ"),
    ],
    ids=["shuffled", "short", "nan", "inf", "columns"],
)
def test_validator_refuses_what_kaggle_would_reject(submission, message):
    with pytest.raises(ValueError, match=message):
        validate_submission(submission.reset_index(drop=True), SAMPLE, "id")
    validate_submission(SAMPLE.copy(), SAMPLE, "id")  # the sample itself passes
