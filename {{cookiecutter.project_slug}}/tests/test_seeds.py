"""Seeds: every fold trained once per seed on the same folds; the experiment's OOF and test predictions are the
mean over seeds, and its cv.json holds each seed's CV beside the mean's; prediction, the bundle, the report and
blend.py take the mean as they take any experiment."""

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, make_cfg, needs, predict_from_bundle
from lightning.pytorch.callbacks import Callback

from {{ cookiecutter.module_name }}.config import ConfigError, load_config
from {{ cookiecutter.module_name }}.config.metrics import get_metric
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.seeds import seed_config
from {{ cookiecutter.module_name }}.cv.split import folds_path
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.run import layout
from {{ cookiecutter.module_name }}.submission.predict import predict
from train import parse_seeds

CLASSES = [f"prob_{k}" for k in range(10)]


@pytest.fixture(scope="module")
def seeded(digits_dir, tmp_path_factory):
    """Two folds of one short epoch, trained for seeds 3 and 4, each seed's run and the mean predicted."""
    cfg = make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), n_folds=2, **TINY)
    cfg = replace(cfg, experiment="seeded", seeds=[3, 4])
    result = train(cfg, folds=[0, 1])
    for seed in cfg.seeds:
        predict(seed_config(cfg, seed))
    predict(cfg)
    return cfg, result


def read(folder, file="oof.csv") -> tuple[pd.DataFrame, np.ndarray]:
    table = read_csv(folder / file)
    return table, table[CLASSES].astype(float).to_numpy()


def test_each_seed_trains_every_fold_on_the_experiments_folds(seeded):
    cfg, result = seeded
    runs = [seed_config(cfg, seed) for seed in cfg.seeds]
    assert set(result["seeds"]) == {3, 4} and [run.seed for run in runs] == [3, 4]
    assert [run.experiment_dir for run in runs] == [cfg.experiment_dir / f"seeded_seed{s}" for s in (3, 4)]
    (first, first_preds), (second, second_preds) = (read(run.experiment_dir) for run in runs)
    train_ids = read_csv(f"{cfg.data.dir}/train.csv").id
    for oof in (first, second):
        assert oof.id.tolist() == train_ids.tolist()  # every training row once, in train.csv's order
    # The folds are the experiment's own (those of its seed, 42), not a split per seed.
    assert folds_path(runs[0]) == folds_path(runs[1]) == folds_path(cfg)
    split = read_csv(folds_path(cfg)).set_index("id").fold.astype(int)
    assert first.fold.astype(int).tolist() == second.fold.astype(int).tolist() == split.loc[train_ids].tolist()
    assert not np.allclose(first_preds, second_preds), "each seed trains its own run"


def test_the_experiment_is_the_mean_of_its_seeds(seeded):
    cfg, result = seeded
    runs = [seed_config(cfg, seed) for seed in cfg.seeds]
    oof, preds = read(cfg.experiment_dir)
    expected = np.mean([read(run.experiment_dir)[1] for run in runs], axis=0)
    np.testing.assert_allclose(preds, expected, atol=1e-6)
    cv = json.loads((cfg.experiment_dir / layout.CV).read_text())
    seed_cvs = {str(run.seed): json.loads((run.experiment_dir / layout.CV).read_text())["cv"] for run in runs}
    assert cv["seeds"] == seed_cvs and cv["seeds_mean"] == pytest.approx(np.mean(list(seed_cvs.values())))
    metric = get_metric(cfg.metric)
    targets = oof.label.astype(int).to_numpy()
    assert cv["cv"] == pytest.approx(metric(targets, expected, "multiclass"), abs=1e-6)
    folds = oof.fold.astype(int).to_numpy()
    assert cv["folds"] == pytest.approx(
        [metric(targets[folds == k], expected[folds == k], "multiclass") for k in (0, 1)]
    )
    assert result["cv"]["cv"] == cv["cv"]
    # The test predictions: the mean of each seed's fold ensemble, with a submission from them.
    test = np.mean([read(run.experiment_dir, layout.TEST_PREDS)[1] for run in runs], axis=0)
    np.testing.assert_allclose(read(cfg.experiment_dir, layout.TEST_PREDS)[1], test, atol=1e-6)
    submission = read_csv(cfg.experiment_dir / layout.SUBMISSION)
    assert submission.label.astype(int).tolist() == test.argmax(axis=1).tolist()


def test_seeds_come_as_a_number_or_a_list_and_each_once(digits_dir):
    assert parse_seeds("3", 42) == [42, 43, 44] and parse_seeds("1,7,42", 0) == [1, 7, 42]
    for bad in ("0", "three", "1,x"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad, 42)
    with pytest.raises(ConfigError, match="'seeds': \\[1, 1\\] names a seed twice"):
        load_config("configs/vision.yaml", ["--seeds", "[1,1]"])
    with pytest.raises(ConfigError, match="seeds\\[1\\]"):
        load_config("configs/vision.yaml", ["--seeds", "[1,-2]"])


def test_an_experiment_trained_without_seeds_is_not_continued_with_them(two_folds):
    before = sorted(p.name for p in two_folds.experiment_dir.iterdir())
    with pytest.raises(ConfigError, match=r"trained without seeds.*--experiment NAME"):
        train(replace(two_folds, seeds=[1, 2]), folds=[0])
    assert sorted(p.name for p in two_folds.experiment_dir.iterdir()) == before  # nothing written


def test_a_seeded_experiment_is_continued_only_with_seeds(seeded):
    cfg, _ = seeded
    before = sorted(cfg.experiment_dir.rglob("*"))
    for folds in ([0], [layout.FULL]):  # --seeds is a flag: a later command without it is refused, not run plain
        with pytest.raises(ConfigError, match=r"trained with seeds \[3, 4\].*pass --seeds 3,4"):
            train(replace(cfg, seeds=[]), folds=folds)
    assert sorted(cfg.experiment_dir.rglob("*")) == before


@needs("ensemble")
def test_the_seed_mean_is_reported_and_blended_like_any_experiment(seeded):
    from baseline import main as baseline_main
    from blend import main as blend_main
    from {{ cookiecutter.module_name }}.ensemble.report import experiments

    cfg, _ = seeded
    out = ["--output_dir", cfg.output_dir]
    baseline_main(["--config", str(cfg.experiment_dir / layout.CONFIG), *out])  # the floor, on the same folds
    table = experiments(cfg.output_dir)
    assert table.experiment.tolist().count("seeded") == 1 and not table.experiment.str.contains("_seed").any()
    assert "mean of 2 seeds" in table.set_index("experiment").tricks["seeded"]
    summary = blend_main(["seeded", "seeded_floor", "--method", "mean", *out])
    assert set(summary["blend"]["members"]) == {"seeded", "seeded_floor"}


@pytest.mark.slow
@needs("submission/bundle")
def test_the_bundle_holds_every_seeds_folds_and_predicts_their_mean(seeded, tmp_path):
    from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle

    cfg, _ = seeded
    bundle = make_bundle(cfg, tmp_path / "made" / "bundle")
    weights = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*.safetensors"))
    assert weights == [f"outputs/seeded/seeded_seed{s}/fold{k}/model.safetensors" for s in (3, 4) for k in (0, 1)]
    clean = tmp_path / "kaggle" / "input" / "bundle"
    shutil.copytree(bundle, clean)
    shutil.rmtree(bundle)
    predict_from_bundle(clean, cfg.data.dir, tmp_path / "submission.csv", cfg.experiment)
    expected = pd.read_csv(cfg.experiment_dir / layout.SUBMISSION)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "submission.csv"), expected)


class Fits(Callback):
    def __init__(self):
        self.fits = 0

    def on_fit_start(self, trainer, pl_module):
        self.fits += 1


def test_adding_a_seed_trains_only_that_seed(seeded):  # last: it adds seed 5 to the module's experiment
    cfg, _ = seeded
    counter = Fits()
    result = train(replace(cfg, seeds=[3, 4, 5]), folds=[0, 1], callbacks=[counter])
    assert counter.fits == 2, "seed 5's two folds, and nothing of seeds 3 and 4"
    assert list(result["cv"]["seeds"]) == ["3", "4", "5"]
