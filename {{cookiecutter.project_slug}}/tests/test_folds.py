from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import ConfigError
from {{ cookiecutter.module_name }}.cv.split import assign_folds, check_groups, folds_path, load_competition, make_folds, save_folds
from {{ cookiecutter.module_name }}.data.problem import Problem
from {{ cookiecutter.module_name }}.run.errors import DataError


def with_cv(cfg, **cv):
    return replace(cfg, cv=replace(cfg.cv, **cv))


def folds_of(train: pd.DataFrame, cfg) -> np.ndarray:
    """make_folds on `train` read as text, as the project reads it."""
    text = train.astype(str)
    return make_folds(text, cfg, Problem.from_train(cfg.problem, cfg.data.target_cols, text, "train.csv"))


@pytest.fixture
def derived(cfg, derived_dir):
    return replace(cfg, data=replace(cfg.data, dir=str(derived_dir))), pd.read_csv(derived_dir / "train.csv")


def test_stratified_folds_cover_every_row_once_and_keep_class_ratios(cfg):
    train = pd.read_csv(f"{cfg.data.dir}/train.csv")
    folds = folds_of(train, cfg)
    assert sorted(np.unique(folds)) == list(range(cfg.cv.n_folds))
    assert np.array_equal(folds, folds_of(train, cfg))  # deterministic for a seed
    assert not np.array_equal(folds, folds_of(train, replace(cfg, seed=cfg.seed + 1)))
    overall = train["label"].value_counts(normalize=True)
    for fold in range(cfg.cv.n_folds):
        ratios = train.loc[folds == fold, "label"].value_counts(normalize=True)
        assert (ratios - overall).abs().max() < 0.02


@pytest.mark.parametrize("splitter", ["group", "stratified_group"])
def test_group_splits_never_put_a_group_in_two_folds(derived, splitter):
    cfg, train = derived
    folds = folds_of(train, with_cv(cfg, splitter=splitter, group_col="writer"))
    assert train.assign(fold=folds).groupby("writer")["fold"].nunique().max() == 1
    assert len(np.unique(folds)) == cfg.cv.n_folds


def test_multilabel_split_keeps_each_label_ratio(derived):
    cfg, train = derived
    cfg = replace(
        with_cv(cfg, splitter="multilabel"), problem="multilabel", data=replace(cfg.data, target_cols=["even", "big"])
    )
    folds = folds_of(train, cfg)
    for fold in range(cfg.cv.n_folds):
        rows = train[folds == fold]
        assert abs(rows["even"].mean() - train["even"].mean()) < 0.02
        assert abs(rows["big"].mean() - train["big"].mean()) < 0.02


def test_regression_is_stratified_on_target_deciles(derived):
    cfg, train = derived
    cfg = replace(cfg, problem="regression", metric="rmse", data=replace(cfg.data, target_cols=["value"]))
    folds = folds_of(train, cfg)
    means = [train.loc[folds == k, "value"].mean() for k in range(cfg.cv.n_folds)]
    assert max(means) - min(means) < 0.2


def test_too_few_groups_are_refused_with_the_count(derived):
    cfg, train = derived
    with pytest.raises(DataError, match=r"from 3 groups of 'writer'"):
        folds_of(train.assign(writer=train.index % 3), with_cv(cfg, splitter="group", group_col="writer"))


def test_a_split_file_that_leaks_a_group_is_refused(derived):
    cfg, train = derived
    leaky = train.assign(fold=np.arange(len(train)) // 7 % cfg.cv.n_folds)  # a writer's rows spread over folds
    with pytest.raises(ValueError, match=r"group 'w\d+' of 'writer' is in \d folds"):
        check_groups(leaky, "writer")


def test_class_too_small_to_stratify_is_named(cfg):
    train = pd.DataFrame({"id": range(12), "label": ["a"] * 10 + ["rare"] * 2})
    with pytest.raises(DataError, match=r"class 'rare'.*only 2 rows"):
        folds_of(train, cfg)


def test_folds_file_is_written_once_and_reused(cfg):
    path = folds_path(cfg)
    competition = load_competition(cfg)
    assert not path.exists()  # loading checks; only training writes
    save_folds(cfg, competition.folds)
    written = path.stat().st_mtime_ns
    again = load_competition(replace(cfg, experiment="another"))
    save_folds(cfg, again.folds)
    assert path.stat().st_mtime_ns == written
    assert competition.train["fold"].tolist() == again.train["fold"].tolist()


def test_folds_file_that_no_longer_matches_the_data_is_refused(cfg):
    competition = load_competition(cfg)
    save_folds(cfg, competition.folds)
    train = competition.train.drop(columns="fold")
    with pytest.raises(DataError, match="changed since the folds were made"):
        assign_folds(train.iloc[:-1], cfg, competition.problem)


def test_folds_can_live_outside_a_read_only_data_folder(cfg, tmp_path, monkeypatch):
    elsewhere = with_cv(cfg, folds_dir=str(tmp_path / "folds"))
    save_folds(elsewhere, load_competition(elsewhere).folds)
    assert folds_path(elsewhere).parent == tmp_path / "folds" and folds_path(elsewhere).is_file()

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("{{ cookiecutter.module_name }}.cv.split.write_csv", read_only)
    four = with_cv(cfg, n_folds=4)
    with pytest.raises(ConfigError, match=r"cannot write the folds file .* \(Permission denied\): set cv\.folds_dir"):
        save_folds(four, load_competition(four).folds)
