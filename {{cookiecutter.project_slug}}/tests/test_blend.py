"""blend.py: weights fitted on the members' OOF, a CV scored on rows they were not fitted on, outputs written like
an experiment's, and members that cannot be combined honestly refused. The members are written by hand on the
digits demo (config.yaml, oof.csv, cv.json, test_preds.csv), so that their predictions are known."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import make_cfg

from blend import main as blend_main
from {{ cookiecutter.module_name }}.config import save_config
from {{ cookiecutter.module_name }}.config.metrics import get_metric
from {{ cookiecutter.module_name }}.cv.artefacts import oof_fingerprint, write_cv_json
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.ensemble.members import finished
from {{ cookiecutter.module_name }}.ensemble.report import experiments
from {{ cookiecutter.module_name }}.run import layout
from {{ cookiecutter.module_name }}.submission.table import write_test_predictions

CLASSES = [f"prob_{k}" for k in range(10)]


class Demo:
    """The digits demo as a blend sees it: a config (multiclass accuracy, or regression on the label), the
    training rows with a fold each, and the test rows; `member` writes an experiment of known predictions."""

    def __init__(self, digits_dir, output_dir, problem="multiclass", metric="accuracy"):
        from {{ cookiecutter.module_name }}.cv.split import load_competition

        cfg = make_cfg(digits_dir, output_dir)
        splitter = "stratified" if problem == "multiclass" else "kfold"
        self.cfg = replace(cfg, problem=problem, metric=metric, cv=replace(cfg.cv, splitter=splitter))
        self.competition = load_competition(self.cfg, folds=False)
        self.train, self.test = self.competition.train, self.competition.test
        self.folds = np.arange(len(self.train)) % 5
        self.labels = self.train.label.astype(int).to_numpy()

    @property
    def columns(self) -> list[str]:
        return self.competition.problem.pred_columns

    def predictions(self, labels: np.ndarray, skill: float, rng) -> np.ndarray:
        if self.cfg.problem == "regression":  # the label plus noise that shrinks with skill
            return (labels + rng.normal(0, 3 / (1 + 4 * skill), len(labels)))[:, None]
        scores = rng.random((len(labels), 10)) + skill * np.eye(10)[labels]
        return scores / scores.sum(axis=1, keepdims=True)

    def member(self, name: str, skill: float, seed: int, folds: np.ndarray | None = None):
        """An experiment whose predictions are the truth, blurred by noise of its own seed."""
        rng = np.random.default_rng(seed)
        oof = self.predictions(self.labels, skill, rng)
        cfg = replace(self.cfg, experiment=name)
        folder = cfg.experiment_dir
        save_config(cfg, folder / layout.CONFIG)
        table = self.train[["id", "label"]].assign(fold=self.folds if folds is None else folds)
        table.assign(**dict(zip(self.columns, oof.T, strict=True))).to_csv(layout.oof(folder), index=False)
        test = self.predictions(rng.integers(0, 10, len(self.test)), skill, rng)
        write_test_predictions(cfg, self.competition, test, folder / layout.TEST_PREDS)
        metric = get_metric(self.cfg.metric)
        score = metric(self.competition.problem.encode(self.train), oof, self.cfg.problem)
        summary = {"metric": self.cfg.metric, "higher_is_better": metric.higher_is_better, "cv": score, "folds": []}
        write_cv_json({**summary, "std": 0.0}, folder)  # as a merge writes it, tied to its oof.csv
        return folder

    def blend(self, *args: str) -> dict:
        return blend_main([*args, "--output_dir", self.cfg.output_dir])

    def read(self, name: str, file: str = "oof.csv") -> np.ndarray:
        return read_csv(layout.experiment_dir(self.cfg.output_dir, name) / file)[self.columns].astype(float).to_numpy()


@pytest.fixture
def demo(digits_dir, tmp_path):
    return Demo(digits_dir, tmp_path / "outputs")


def test_hill_climbing_weights_are_a_convex_mix_that_beats_its_best_member(demo):
    for name, skill, seed in (("a", 0.6, 0), ("b", 0.5, 1), ("c", 0.4, 2)):
        demo.member(name, skill, seed)
    summary = demo.blend("a", "b", "c", "--name", "abc")
    weights = summary["blend"]["weights"]
    assert set(weights) == {"a", "b", "c"} and all(w >= 0 for w in weights.values())
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["a"] > 0 and weights["b"] > 0  # independent noise: mixing helps
    assert summary["cv"] > max(summary["blend"]["members"].values())
    folder = layout.experiment_dir(demo.cfg.output_dir, "abc")
    assert json.loads((folder / layout.CV).read_text()) == summary
    oof = read_csv(layout.oof(folder))
    assert oof["id"].tolist() == demo.train["id"].tolist() and oof["fold"].astype(int).tolist() == demo.folds.tolist()
    submission = read_csv(folder / layout.SUBMISSION)
    assert submission["id"].tolist() == demo.competition.sample_submission["id"].tolist()
    # The test predictions are the members' test predictions mixed with the weights fitted on every row.
    mix = sum(weights[name] * demo.read(name, layout.TEST_PREDS) for name in weights)
    np.testing.assert_allclose(demo.read("abc", layout.TEST_PREDS), mix, atol=1e-9)
    table = experiments(demo.cfg.output_dir).set_index("experiment")  # report.py lists it with its members
    assert table.loc["abc", "model"] == "blend" and table.loc["abc", "tricks"].startswith("hill climbing: a 0.")


@pytest.mark.parametrize(("method", "n_members"), [("hill", 30), ("stack", 12)])
def test_the_honest_cv_is_scored_out_of_sample(demo, method, n_members):
    """Members of pure noise: fitted on every row, the blend finds a mix that scores above chance on those rows;
    fitted on the other folds, it does not."""
    names = [f"noise{k}" for k in range(n_members)]
    for k, name in enumerate(names):
        demo.member(name, skill=0.0, seed=k)
    summary = demo.blend(*names, "--method", method, "--name", "noise")
    in_sample = summary["blend"]["cv_in_sample"]
    assert in_sample > max(summary["blend"]["members"].values())
    assert summary["cv"] < in_sample - 0.01
    assert summary["cv"] < 0.15  # ten classes: chance is 0.1


def test_members_are_matched_by_id_whatever_their_row_order(demo):
    demo.member("a", 0.6, 0)
    folder = demo.member("b", 0.5, 1)
    before = demo.blend("a", "b", "--name", "before")
    for path in (layout.oof(folder), folder / layout.TEST_PREDS):
        edit(path, lambda table: table.iloc[::-1])
    merged_again(folder)
    # As if predicted again from the models behind the reordered oof.csv.
    (folder / "test_preds.json").write_text(json.dumps({"oof_sha256": oof_fingerprint(layout.oof(folder))}))
    after = demo.blend("a", "b", "--name", "after")
    assert after["cv"] == before["cv"] and after["blend"]["weights"] == before["blend"]["weights"]
    np.testing.assert_allclose(demo.read("after"), demo.read("before"))
    np.testing.assert_allclose(demo.read("after", layout.TEST_PREDS), demo.read("before", layout.TEST_PREDS))


def test_the_mean_and_the_stack_write_oof_rows_once_with_the_members_folds(demo):
    demo.member("a", 0.6, 0)
    demo.member("b", 0.5, 1)
    summary = demo.blend("a", "b", "--method", "mean")
    np.testing.assert_allclose(demo.read("mean_a_and_b"), (demo.read("a") + demo.read("b")) / 2, atol=1e-9)
    assert summary["cv"] == pytest.approx(summary["blend"]["cv_in_sample"])  # nothing fitted: nothing to overfit
    stack = demo.blend("a", "b", "--method", "stack")
    oof = read_csv(layout.oof(layout.experiment_dir(demo.cfg.output_dir, "stack_a_and_b")))
    assert oof["id"].tolist() == demo.train["id"].tolist() and stack["blend"]["weights"] is None
    assert stack["cv"] > max(stack["blend"]["members"].values()) and len(stack["folds"]) == 5
    probs = demo.read("stack_a_and_b", layout.TEST_PREDS)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(("problem", "metric"), [("multiclass", "log_loss"), ("regression", "rmse")])
def test_a_lower_is_better_metric_is_blended_downwards(digits_dir, tmp_path, problem, metric):
    demo = Demo(digits_dir, tmp_path / "outputs", problem, metric)
    demo.member("a", 0.6, 0)
    demo.member("b", 0.6, 1)  # as good, with noise of its own: their mean is better than either
    for method in ("hill", "stack"):
        summary = demo.blend("a", "b", "--method", method)
        assert summary["cv"] < min(summary["blend"]["members"].values()), method
    assert demo.read("stack_a_and_b", layout.TEST_PREDS).shape == (len(demo.test), len(demo.columns))
    if problem == "regression":  # one output: gradient boosting stacks in seconds
        summary = demo.blend("a", "b", "--method", "stack", "--model", "boosting")
        assert summary["cv"] < min(summary["blend"]["members"].values())


def test_a_blend_joins_another_blend_by_name_but_never_overwrites_an_experiment(demo, capsys):
    for name, skill, seed in (("a", 0.6, 0), ("b", 0.5, 1), ("c", 0.4, 2)):
        demo.member(name, skill, seed)
    demo.blend("a", "b", "--name", "ab")
    assert list(demo.blend("ab", "c")["blend"]["members"]) == ["ab", "c"]
    assert finished(demo.cfg.output_dir) == ["a", "b", "c"]  # --all leaves blends out: they would count a, b twice
    assert "holds an experiment that is not a blend: give the blend another --name" in refusal(
        capsys, demo, "a", "b", "--name", "c"
    )
    assert "is no name of letters and digits" in refusal(capsys, demo, "a", "b", "--name", "a+b")


def refusal(capsys, demo, *args):
    with pytest.raises(SystemExit) as exit:
        demo.blend(*args)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_members_on_different_folds_are_refused(demo, capsys):
    demo.member("a", 0.6, 0)
    demo.member("b", 0.5, 1, folds=np.roll(demo.folds, 1))
    err = refusal(capsys, demo, "a", "b")
    assert f"b puts row {demo.train.id[0]!r} in fold 4, a in fold 0: members made on different folds" in err
    assert not layout.experiment_dir(demo.cfg.output_dir, "hill_a_and_b").exists()


def edit(path, change):
    table = read_csv(path)
    change(table).to_csv(path, index=False)


def merged_again(folder) -> None:
    """cv.json as the member's own merge writes it for the oof.csv it now has: a member trained on other rows or
    labels, or trained again since it predicted."""
    write_cv_json(json.loads((folder / layout.CV).read_text()), folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("metric", "config key 'metric' is 'log_loss' where the blend's first member has 'accuracy'"),
        ("missing", "oof.csv has no row '{first}' of train.csv: members must predict the same rows"),
        ("twice", "oof.csv holds row '{first}' twice: members must predict the same rows"),
        ("test rows", "test_preds.csv holds row 'x', which test.csv lacks"),
        ("target", "row '{first}' has label '{other}' where train.csv has '{label}'"),
        ("nan", "oof.csv: line 3 of column 'prob_0' holds 'nan', not a finite number"),
        ("stale", "test_preds.csv was not predicted from the models behind"),
        ("unpredicted", "no test_preds.csv; run python predict.py --experiment b first"),
        ("edited", "b/oof.csv is not the file cv.json was merged from (cut short, edited or replaced since)"),
    ],
)
def test_members_that_cannot_be_combined_are_refused_naming_the_difference(demo, capsys, change, message):
    demo.member("a", 0.6, 0)
    if change == "metric":
        demo.cfg = replace(demo.cfg, metric="log_loss")
    folder = demo.member("b", 0.5, 1)
    oof_path, label = layout.oof(folder), demo.train.label[0]
    other = "1" if label != "1" else "2"
    changes = {
        "missing": lambda table: table.iloc[1:],
        "twice": lambda table: pd.concat([table, table.iloc[:1]]),
        "target": lambda table: table.assign(label=[other, *table.label[1:]]),
        "nan": lambda table: table.assign(prob_0=["0.1", "nan", *table.prob_0[2:]]),
        "stale": lambda table: table.assign(prob_0=["0.5", *table.prob_0[1:]]),  # trained again since it predicted
        "edited": lambda table: table.iloc[:-3],  # cut short after its merge
    }
    if change in changes:
        edit(oof_path, changes[change])
        if change != "edited":
            merged_again(folder)
    if change == "test rows":
        edit(folder / layout.TEST_PREDS, lambda table: table.assign(id=["x", *table.id[1:]]))
    if change == "unpredicted":
        (folder / layout.TEST_PREDS).unlink()
    err = refusal(capsys, demo, "a", "b")
    assert message.format(first=demo.train.id[0], other=other, label=label) in err


def test_rank_blending_is_refused_where_ranks_mean_nothing(demo, capsys):
    demo.member("a", 0.6, 0)
    demo.member("b", 0.5, 1)
    err = refusal(capsys, demo, "a", "b", "--method", "rank")
    assert "--method rank blends ranks, not probabilities: it suits roc_auc on binary or multilabel targets" in err
    assert "--model boosting chooses the stack's level-2 model" in refusal(
        capsys, demo, "a", "b", "--model", "boosting"
    )
    assert "name the experiments to blend, or give --all, not both" in refusal(capsys, demo, "a", "--all")
