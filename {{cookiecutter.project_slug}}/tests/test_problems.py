from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY, make_cfg

from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.data.problem import Problem
from {{ cookiecutter.module_name }}.run.errors import DataError
from {{ cookiecutter.module_name }}.training.loss import make_loss


@pytest.mark.parametrize(
    ("problem", "metric", "targets", "cv"),
    [
        ("binary", "roc_auc", ["is_even"], {"splitter": "stratified"}),
        ("multilabel", "f1_macro", ["even", "big"], {"splitter": "multilabel"}),
        ("regression", "rmse", ["value"], {"splitter": "kfold"}),
        ("multiclass", "qwk", ["label"], {"splitter": "stratified_group", "group_col": "writer"}),
    ],
)
def test_every_problem_type_trains_a_fold(derived_dir, tmp_path, problem, metric, targets, cv):
    folder = tmp_path / "data"  # the derived competition, with a sample submission of these targets
    folder.mkdir()
    for name in ("train", "test", "train.csv", "test.csv"):
        (folder / name).symlink_to(derived_dir / name)
    sample = pd.read_csv(derived_dir / "sample_submission.csv")[["id"]]
    sample[targets] = pd.read_csv(derived_dir / "train.csv")[targets].iloc[0].to_numpy()  # a placeholder row
    sample.to_csv(folder / "sample_submission.csv", index=False)
    base = make_cfg(folder, tmp_path, n_folds=3, **TINY)
    cfg = replace(
        base, problem=problem, metric=metric, data=replace(base.data, target_cols=targets), cv=replace(base.cv, **cv)
    )
    score = train(cfg, folds=[0])["folds"][0]
    assert np.isfinite(score)
    oof = pd.read_csv(cfg.fold_dir(0) / "oof.csv")
    train_rows = pd.read_csv(derived_dir / "train.csv", dtype=str)
    expected = Problem.from_train(problem, targets, train_rows, "train.csv").pred_columns
    assert list(oof.columns) == ["id", "fold", *targets, *expected]
    assert np.isfinite(oof[expected].to_numpy()).all()


def test_binary_targets_and_labels_use_the_sorted_classes():
    rows = pd.DataFrame({"y": ["odd", "even", "odd"]})
    problem = Problem.from_train("binary", ["y"], rows, "train.csv")
    assert problem.pred_columns == ["prob_odd"] and problem.num_outputs == 1
    assert problem.encode(rows).ravel().tolist() == [1, 0, 1]
    assert problem.labels(np.array([[0.9], [0.2]])).ravel().tolist() == ["odd", "even"]


def test_row_errors_rank_the_worst_predictions_of_each_problem_type():
    """The W&B cv run's table of the worst OOF rows sorts by these."""
    rows = pd.DataFrame({"y": ["a", "b", "c"]})
    multiclass = Problem.from_train("multiclass", ["y"], rows, "train.csv")
    probs = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(multiclass.row_errors(rows, probs), [0.3, 0.7, 0.2])  # 1 - P(true class)
    binary = Problem.from_train("binary", ["y"], rows.iloc[:2], "train.csv")
    np.testing.assert_allclose(binary.row_errors(rows.iloc[:2], np.array([[0.4], [0.9]])), [0.4, 0.1])
    values = pd.DataFrame({"u": ["1.0", "2.0"], "v": ["0", "4"]})
    regression = Problem.from_train("regression", ["u", "v"], values, "train.csv")
    np.testing.assert_allclose(regression.row_errors(values, np.array([[1.5, 0.5], [2.0, 1.0]])), [0.5, 1.5])


def test_smoothed_binary_targets_move_towards_one_half():
    loss = make_loss(Problem("binary", ("y",), ("a", "b")), label_smoothing=0.2)
    logits, targets = torch.tensor([[0.3], [-1.0]]), torch.tensor([[1.0], [0.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([[0.9], [0.1]]))
    assert torch.isclose(loss(logits, targets), expected)


@pytest.mark.parametrize(
    ("kind", "column", "values", "message"),
    [
        ("binary", "y", ["0", "1", "2"], r"binary target 'y' has 3 values \['0', '1', '2'\], not two"),
        ("multilabel", "y", ["0", "1", "2"], r"line 4 of multilabel target 'y' holds '2'; each label column holds 0"),
        ("regression", "y", ["1.5", "b", "c"], r"line 3 of regression target 'y' holds 'b', not a finite number"),
        ("regression", "y", ["1.5", "2", "inf"], r"line 4 of regression target 'y' holds 'inf', not a finite number"),
        ("multiclass", "y", ["cat", "", "dog"], r"line 3 has no target in column 'y'; every training row needs one"),
        ("multiclass", "y", ["cat", "cat", "cat"], r"target 'y' has a single class \['cat'\]: nothing to learn"),
    ],
)
def test_targets_unlike_the_problem_type_are_refused(kind, column, values, message):
    with pytest.raises(DataError, match=message):
        Problem.from_train(kind, [column], pd.DataFrame({column: values}), "train.csv")
