"""blend.py: weights fitted on the members' OOF, a CV scored on rows they were not fitted on, outputs written like
an experiment's, and members that cannot be combined honestly refused. The members are written by hand on the
digits demo (oof.csv, cv.json, test_preds.csv, config.yaml), so that their predictions are known."""

import json
import os
from dataclasses import replace

import numpy as np
import pytest
from conftest import make_cfg

from blend import main as blend_main
from {{ cookiecutter.module_name }} import layout
from {{ cookiecutter.module_name }}.config import save_config
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.metrics import get_metric
from {{ cookiecutter.module_name }}.report import experiments

CLASSES = [f"prob_{k}" for k in range(10)]


@pytest.fixture
def competition(digits_dir, tmp_path):
    """The demo's config, its training rows with a fold each, and its test ids."""
    cfg = make_cfg(digits_dir, tmp_path / "outputs")
    train, test = read_csv(digits_dir / "train.csv"), read_csv(digits_dir / "test.csv")
    folds = np.arange(len(train)) % 5
    return cfg, train.assign(fold=folds), test


def member(competition, name, skill, seed, metric="accuracy"):
    """An experiment whose probabilities are the true class's one-hot times `skill`, plus noise."""
    cfg, train, test = competition
    rng = np.random.default_rng(seed)

    def probs(labels):
        scores = rng.random((len(labels), 10)) + skill * np.eye(10)[labels]
        return scores / scores.sum(axis=1, keepdims=True)

    oof = probs(train.label.astype(int).to_numpy())
    folder = layout.experiment_dir(cfg.output_dir, name)
    save_config(replace(cfg, experiment=name, metric=metric), folder / layout.CONFIG)
    table = train[["id", "fold", "label"]].assign(**dict(zip(CLASSES, oof.T, strict=True)))
    table.to_csv(layout.oof(folder), index=False)
    test_probs = probs(rng.integers(0, 10, len(test)))
    test[["id"]].assign(**dict(zip(CLASSES, test_probs.T, strict=True))).to_csv(folder / layout.TEST_PREDS, index=False)
    score = get_metric(metric)(train.label.astype(int).to_numpy(), oof, "multiclass")
    (folder / layout.CV).write_text(
        json.dumps({"metric": metric, "higher_is_better": True, "cv": score, "folds": [], "std": 0.0})
    )
    return folder


def blended(cfg, name):
    folder = layout.experiment_dir(cfg.output_dir, name)
    return json.loads((folder / layout.CV).read_text()), read_csv(layout.oof(folder))


def test_hill_climbing_weights_are_a_convex_mix_that_beats_its_best_member(competition):
    cfg = competition[0]
    for name, skill, seed in (("a", 0.6, 0), ("b", 0.5, 1), ("c", 0.4, 2)):
        member(competition, name, skill, seed)
    summary = blend_main(["a", "b", "c", "--output_dir", cfg.output_dir, "--name", "abc"])
    weights = summary["blend"]["weights"]
    assert set(weights) == {"a", "b", "c"} and all(w >= 0 for w in weights.values())
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["a"] > 0 and weights["b"] > 0  # independent noise: mixing helps
    assert summary["cv"] > max(summary["blend"]["members"].values())
    on_disk, oof = blended(cfg, "abc")
    assert on_disk == summary
    train = competition[1]
    assert oof["id"].tolist() == train["id"].tolist() and oof["fold"].astype(int).tolist() == train.fold.tolist()
    submission = read_csv(layout.experiment_dir(cfg.output_dir, "abc") / layout.SUBMISSION)
    assert submission["id"].tolist() == read_csv(f"{cfg.data.dir}/sample_submission.csv")["id"].tolist()
    # The test predictions are the members' test predictions mixed with the weights fitted on every row.
    tests = {name: read_csv(f"{cfg.output_dir}/{name}/test_preds.csv")[CLASSES].astype(float) for name in weights}
    mix = sum(weights[name] * tests[name].to_numpy() for name in weights)
    test_preds = read_csv(layout.experiment_dir(cfg.output_dir, "abc") / layout.TEST_PREDS)
    np.testing.assert_allclose(test_preds[CLASSES].astype(float).to_numpy(), mix, atol=1e-9)
    # report.py lists the blend with its members, beside them.
    table = experiments(cfg.output_dir).set_index("experiment")
    assert table.loc["abc", "model"] == "blend" and "a 0." in table.loc["abc", "tricks"]


def test_the_honest_cv_is_scored_out_of_sample(competition):
    """Thirty members of pure noise: weights fitted on every row find a mix that scores above chance on those
    rows, which the CV fitted on the other folds does not."""
    cfg = competition[0]
    names = [f"noise{k}" for k in range(30)]
    for k, name in enumerate(names):
        member(competition, name, skill=0.0, seed=k)
    summary = blend_main([*names, "--output_dir", cfg.output_dir, "--name", "noise"])
    in_sample = summary["blend"]["cv_in_sample"]
    assert in_sample > max(summary["blend"]["members"].values())
    assert summary["cv"] < in_sample - 0.01
    assert summary["cv"] < 0.15  # ten classes: chance is 0.1


def test_the_mean_and_the_stack_write_oof_rows_once_with_the_members_folds(competition):
    cfg, train, _ = competition
    a, b = member(competition, "a", 0.6, 0), member(competition, "b", 0.5, 1)
    summary = blend_main(["a", "b", "--method", "mean", "--output_dir", cfg.output_dir])
    _, oof = blended(cfg, "mean_a+b")
    members = [read_csv(layout.oof(folder))[CLASSES].astype(float).to_numpy() for folder in (a, b)]
    np.testing.assert_allclose(oof[CLASSES].astype(float).to_numpy(), np.mean(members, axis=0), atol=1e-9)
    assert summary["cv"] == pytest.approx(summary["blend"]["cv_in_sample"])  # nothing fitted: nothing to overfit
    stack = blend_main(["a", "b", "--method", "stack", "--output_dir", cfg.output_dir])
    _, oof = blended(cfg, "stack_a+b")
    assert oof["id"].tolist() == train["id"].tolist() and stack["blend"]["weights"] is None
    assert stack["cv"] > max(stack["blend"]["members"].values())
    assert len(stack["folds"]) == 5


def refusal(capsys, cfg, *names):
    with pytest.raises(SystemExit) as exit:
        blend_main([*names, "--output_dir", cfg.output_dir])
    assert exit.value.code == 2
    return capsys.readouterr().err


def test_members_on_different_folds_are_refused(competition, capsys):
    cfg = competition[0]
    member(competition, "a", 0.6, 0)
    folder = member(competition, "b", 0.5, 1)
    oof = read_csv(layout.oof(folder))
    oof.loc[0, "fold"] = "4"  # row 0 is in fold 0 for a
    oof.to_csv(layout.oof(folder), index=False)
    os.utime(folder / layout.TEST_PREDS)  # predicted after
    err = refusal(capsys, cfg, "a", "b")
    assert f"b puts row {oof.id[0]!r} in fold 4, a in fold 0: members made on different folds" in err
    assert not (layout.experiment_dir(cfg.output_dir, "hill_a+b")).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("metric", "scores log_loss, the blend's first member accuracy: members must share the metric"),
        ("rows", "has no row '{first}' of train.csv: members must predict the same rows"),
        ("target", "row '{first}' has label '{other}' where train.csv has '{label}'"),
        ("stale", "test_preds.csv is older than its oof.csv: the experiment was trained again"),
        ("unpredicted", "no test_preds.csv; run python predict.py --experiment b first"),
    ],
)
def test_members_that_cannot_be_combined_are_refused_naming_the_difference(competition, capsys, change, message):
    cfg, train, _ = competition
    member(competition, "a", 0.6, 0)
    folder = member(competition, "b", 0.5, 1, metric="log_loss" if change == "metric" else "accuracy")
    oof = read_csv(layout.oof(folder))
    label = oof.label[0]
    other = "1" if label != "1" else "2"
    if change == "rows":
        oof.iloc[1:].to_csv(layout.oof(folder), index=False)
    if change == "target":
        oof.assign(label=[other, *oof.label[1:]]).to_csv(layout.oof(folder), index=False)
    if change == "stale":
        os.utime(folder / layout.TEST_PREDS, (0, 0))
    if change == "unpredicted":
        (folder / layout.TEST_PREDS).unlink()
    err = refusal(capsys, cfg, "a", "b")
    assert message.format(first=train.id[0], other=other, label=label) in err
    assert "Traceback" not in err


def test_rank_blending_is_refused_for_a_metric_that_reads_probabilities(competition, capsys):
    cfg = competition[0]
    member(competition, "a", 0.6, 0)
    member(competition, "b", 0.5, 1)
    err = refusal(capsys, cfg, "a", "b", "--method", "rank")
    assert "--method rank blends ranks, not probabilities or values: it suits roc_auc, not accuracy" in err
