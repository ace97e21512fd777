"""The full-data refit (train.py --fold full): once every fold is finished, one run on every training row for
the epochs the CV chose, with no validation; predict.py averages the folds, the refit or both, and says which."""

import json
import statistics
from dataclasses import replace

import numpy as np
import pytest
from conftest import make_cfg, needs
from lightning.pytorch.callbacks import Callback

from {{ cookiecutter.module_name }}.config import load_config, save_config
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.refit import refit_epochs
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.cv.state import FoldResult
from {{ cookiecutter.module_name }}.data.tables import read_csv
from {{ cookiecutter.module_name }}.run import layout
from {{ cookiecutter.module_name }}.run.errors import UserError
from {{ cookiecutter.module_name }}.submission.predict import predict, predict_fold

SHORT = {"max_epochs": 3, "limit_train_batches": 3, "num_sanity_val_steps": 0}


class Probe(Callback):
    """What the refit trained on, for how long, and whether anything was validated."""

    def __init__(self):
        self.train_ids, self.validated, self.epochs = None, False, 0

    def on_train_start(self, trainer, pl_module):
        self.train_ids = trainer.datamodule.train_rows.id.tolist()
        self.train_set = len(trainer.datamodule.train_set)

    def on_train_epoch_end(self, trainer, pl_module):
        self.epochs += 1

    def on_validation_start(self, trainer, pl_module):
        self.validated = True


@pytest.fixture(scope="module")
def refitted(digits_dir, tmp_path_factory):
    """Two folds of 3 short epochs (each keeps its best epoch, maybe an earlier one), then the refit."""
    cfg = make_cfg(digits_dir, tmp_path_factory.mktemp("outputs"), n_folds=2, **SHORT)
    train(cfg, folds=[0, 1])
    probe = Probe()
    result = train(cfg, folds=[layout.FULL], callbacks=[probe])
    return cfg, result, probe


def test_a_refit_trains_on_every_row_for_the_epochs_the_cv_chose(refitted):
    cfg, result, probe = refitted
    train_ids = read_csv(f"{cfg.data.dir}/train.csv").id.tolist()
    assert sorted(probe.train_ids) == sorted(train_ids) and probe.train_set == len(train_ids)
    assert not probe.validated, "the refit has no rows to validate on"
    folds = [json.loads((cfg.fold_dir(k) / layout.METRICS).read_text())["epochs"] for k in (0, 1)]
    assert all(1 <= epochs <= 3 for epochs in folds)
    expected = statistics.median_high(folds)  # an epoch at which a fold kept its weights
    info = json.loads((cfg.fold_dir(layout.FULL) / layout.REFIT).read_text())
    assert result["refit"] == [info] and info["folds_epochs"] == folds
    assert info["epochs"] == probe.epochs == expected and info["rows"] == len(train_ids)
    full = cfg.fold_dir(layout.FULL)
    assert (full / layout.WEIGHTS).exists() and not list(full.glob("oof*.csv")) and not (full / layout.METRICS).exists()
    assert (cfg.experiment_dir / layout.CV).exists()  # the CV is the folds', untouched


def test_prediction_uses_the_folds_the_refit_or_both_and_says_which(refitted, capsys):
    cfg, _, _ = refitted
    competition = load_competition(cfg, folds=False)
    fold_preds = [predict_fold(cfg, competition, k, "cpu") for k in (0, 1)]
    full = predict_fold(cfg, competition, layout.FULL, "cpu")
    expected = {"folds": np.mean(fold_preds, axis=0), "full": full, "both": np.mean([*fold_preds, full], axis=0)}
    said = {
        "folds": "the mean of folds 0, 1 (predict_with: folds)",
        "full": "the mean of the full-data refit (predict_with: full)",
        "both": "the mean of folds 0, 1 and the full-data refit (predict_with: both)",
    }
    for choice, preds in expected.items():
        path = predict(replace(cfg, predict_with=choice))
        assert said[choice] in capsys.readouterr().out
        test_preds = read_csv(path.with_name(layout.TEST_PREDS))
        np.testing.assert_allclose(test_preds[[f"prob_{k}" for k in range(10)]].astype(float), preds, atol=1e-6)
    assert not np.allclose(expected["folds"], full), "the refit is a model of its own"


@needs("submission/bundle")
def test_the_bundle_carries_the_refit_where_prediction_uses_it(refitted, tmp_path):
    from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle

    cfg, _, _ = refitted
    bundle = make_bundle(replace(cfg, predict_with="both"), tmp_path / "bundle")
    weights = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*.safetensors"))
    assert weights == [f"outputs/vision_baseline/{name}/model.safetensors" for name in ("fold0", "fold1", "full")]
    assert "predict_with: both" in (bundle / "outputs/vision_baseline/config.yaml").read_text()


def test_a_refit_waits_for_every_fold_and_prediction_for_the_refit(digits_dir, tmp_path):
    cfg = make_cfg(digits_dir, tmp_path / "outputs", n_folds=2, max_epochs=1, limit_train_batches=2)
    with pytest.raises(UserError, match=r"fold 0, 1 of 'vision_baseline' is not finished.*--fold all"):
        train(cfg, folds=[layout.FULL])
    train(cfg, folds=[0])
    with pytest.raises(UserError, match="fold 1 of 'vision_baseline' is not finished"):
        train(cfg, folds=[layout.FULL])
    assert not cfg.fold_dir(layout.FULL).exists()
    with pytest.raises(UserError, match=r"no full-data refit in .*train.py --fold full"):
        predict(replace(cfg, predict_with="full"))


def test_a_refit_older_than_its_folds_is_trained_again_for_their_epochs(refitted):
    cfg, _, _ = refitted
    for fold, epochs in ((0, 1), (1, 2)):  # as if the folds had been trained again and kept epochs 1 and 2
        path = cfg.fold_dir(fold) / layout.METRICS
        path.write_text(json.dumps({**json.loads(path.read_text()), "epochs": epochs}))
    with pytest.raises(UserError, match="older than the folds trained since"):
        predict(replace(cfg, predict_with="both"))
    probe = Probe()
    info = train(cfg, folds=[layout.FULL], callbacks=[probe])["refit"][0]
    assert info["folds_epochs"] == [1, 2] and info["epochs"] == probe.epochs == 2  # the upper median
    # Its schedule is fitted to those 2 epochs (the folds' ran 3), so that its learning rate anneals by their end.
    assert load_config(cfg.fold_dir(layout.FULL) / layout.CONFIG).trainer.max_epochs == 2 < cfg.trainer.max_epochs
    assert train(cfg, folds=[layout.FULL])["refit"][0] == info  # now current: skipped


def test_a_refit_trains_for_an_epoch_at_which_a_fold_kept_its_weights(digits_dir, tmp_path):
    cfg = make_cfg(digits_dir, tmp_path / "outputs", n_folds=4, max_epochs=35)
    for fold, epochs in enumerate((5, 15, 5, 15)):  # the mean of the middle two, 10, is an epoch no fold kept
        save_config(cfg, cfg.fold_dir(fold) / layout.CONFIG)
        FoldResult(fold, cfg.metric, "the best checkpoint", 0.9, epochs=epochs).write(
            cfg.fold_dir(fold) / layout.METRICS
        )
    assert refit_epochs(cfg) == (15, [5, 15, 5, 15])
