import json
from dataclasses import replace
from functools import partial

import lightning as L
import pandas as pd
import pytest
import torch
from conftest import TINY, make_cfg
from lightning.pytorch.callbacks import EarlyStopping
from safetensors.torch import load_file
from torch import nn

from {{ cookiecutter.module_name }}.config.metrics import METRICS
from {{ cookiecutter.module_name }}.cv.fold import build_fold, fold_predictions
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.run.errors import ConfigError
from {{ cookiecutter.module_name }}.submission.predict import load_fold_model
from {{ cookiecutter.module_name }}.training.averaging import average_checkpoints, recalibrate_batchnorm
from {{ cookiecutter.module_name }}.training.schedules import lr_factor, swa_lr_factor


def with_averaging(cfg, **averaging):
    return replace(cfg, averaging=replace(cfg.averaging, **averaging))


def with_swa(cfg, epochs: int, start: int):
    """SWA from epoch `start` of `epochs`, on a cosine schedule (SWA refuses cosine cycles' restarts)."""
    cfg = replace(cfg, optim=replace(cfg.optim, schedule="cosine"), trainer=replace(cfg.trainer, max_epochs=epochs))
    return with_averaging(cfg, weights="swa", swa_start_epoch=start)


class RecordHead(L.Callback):
    """The raw head weights after every optimizer step."""

    def __init__(self):
        self.weights = []

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.weights.append(pl_module.net.head.weight.detach().clone())


@pytest.mark.parametrize("every", [1, 2])
def test_ema_weights_equal_the_hand_computed_average_of_the_raw_weights(tiny, every):
    cfg = with_averaging(tiny, ema=True, ema_decay=0.9, ema_warmup=False, ema_every_n_steps=every)
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    recorder = RecordHead()
    trainer.callbacks.append(recorder)
    trainer.fit(module, datamodule=data)
    raw = recorder.weights[::every]  # the steps the average was updated at: 0, every, ...
    expected = raw[0]
    for weights in raw[1:]:
        expected = 0.9 * expected + 0.1 * weights
    assert len(recorder.weights) == 4 and not torch.allclose(recorder.weights[-1], expected)
    torch.testing.assert_close(module.net.head.weight, expected)  # what training leaves in the model


def test_ema_warmup_starts_from_a_small_decay():
    from {{ cookiecutter.module_name }}.training.averaging import ema_decay

    decays = [ema_decay(0.999, n, warmup=True) for n in (1, 10, 100, 10**6)]
    assert decays == sorted(decays) and decays[0] < 0.5 and decays[-1] == 0.999
    assert ema_decay(0.999, 1, warmup=False) == 0.999


def test_the_checkpoint_the_oof_and_the_export_use_the_ema_weights(tiny):
    cfg = with_averaging(tiny, ema=True, ema_decay=0.9)
    train(cfg, folds=[0])
    checkpoint = torch.load(cfg.fold_dir(0) / "checkpoints/best.ckpt", weights_only=True)
    ema, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert not torch.equal(ema["net.head.weight"], raw["net.head.weight"])
    exported = load_file(cfg.fold_dir(0) / "model.safetensors")
    torch.testing.assert_close(exported["head.weight"], ema["net.head.weight"])

    competition = load_competition(cfg)
    net = load_fold_model(cfg, competition, 0)  # the exported weights, without Lightning
    _, data, _, _ = build_fold(cfg, competition, 0)
    with torch.no_grad():
        preds = torch.cat([net(batch["image"]).softmax(dim=1) for batch in data.val_dataloader()])
    oof = pd.read_csv(cfg.fold_dir(0) / "oof.csv").filter(like="prob_").to_numpy()
    torch.testing.assert_close(preds, torch.tensor(oof, dtype=preds.dtype), atol=1e-5, rtol=1e-4)


def test_an_ema_that_never_started_keeps_the_trained_weights(tiny):
    cfg = with_averaging(tiny, ema=True, ema_start_step=10_000)  # later than the run's last step
    module, data, trainer, checkpoint = build_fold(cfg, load_competition(cfg), 0)
    initial = module.net.head.weight.detach().clone()
    trainer.fit(module, datamodule=data)
    assert not torch.equal(module.net.head.weight, initial)  # Lightning alone would copy the initial weights back
    saved = torch.load(checkpoint.best_model_path, weights_only=True)["state_dict"]
    torch.testing.assert_close(saved["net.head.weight"], module.net.head.weight.detach())
    plain = build_fold(tiny, load_competition(tiny), 0)
    plain[2].fit(plain[0], datamodule=plain[1])
    assert checkpoint.best_model_score == plain[3].best_model_score  # validated as if there were no EMA


def test_averaged_checkpoint_tensors_are_the_mean_of_the_inputs(tmp_path):
    paths = []
    for k in range(3):
        state = {"w": torch.full((2, 2), float(k)), "count": torch.tensor(10 + k)}
        paths.append(tmp_path / f"{k}.ckpt")
        torch.save({"state_dict": state}, paths[-1])
    averaged = average_checkpoints(paths)
    torch.testing.assert_close(averaged["w"], torch.full((2, 2), 1.0))
    assert averaged["count"] == 10 and averaged["count"].dtype == torch.int64  # integers are not averaged


def test_batchnorm_statistics_are_recalibrated_to_the_training_batches():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(3)

        def forward(self, batch):
            return self.bn(batch["x"])

    net = Net()
    net.bn.running_mean.fill_(5.0)  # statistics that belong to other weights
    batches = [{"x": torch.randn(8, 3) * 2 + torch.tensor([1.0, -1.0, 3.0])} for _ in range(4)]
    recalibrate_batchnorm(net, batches, torch.device("cpu"))
    everything = torch.cat([b["x"] for b in batches])
    torch.testing.assert_close(net.bn.running_mean, everything.mean(dim=0))
    torch.testing.assert_close(net.bn.running_var, torch.stack([b["x"].var(dim=0) for b in batches]).mean(dim=0))
    assert net.bn.momentum == 0.1 and net.training  # left as it was


def test_top_k_averaging_is_scored_beside_the_best_single_checkpoint(digits_dir, tmp_path):
    cfg = make_cfg(digits_dir, tmp_path / "outputs", n_folds=2, **{**TINY, "max_epochs": 3})
    cfg = with_averaging(cfg, ema=True, weights="top_k", top_k=2)
    result = train(cfg, folds=[0, 1])["cv"]
    assert result["weights"] == "the mean of the top 2 EMA checkpoints"
    accuracy = METRICS["accuracy"]
    for name in ("oof.csv", "oof_best.csv"):
        oof = pd.concat(pd.read_csv(cfg.fold_dir(k) / name) for k in range(2))
        cv = accuracy(oof.label.to_numpy(), oof.filter(like="prob_").to_numpy(), "multiclass")
        assert result["cv" if name == "oof.csv" else "cv_best"] == pytest.approx(cv)
    assert len(result["folds_best"]) == 2 and json.loads((cfg.experiment_dir / "cv.json").read_text()) == result

    checkpoints = sorted((cfg.fold_dir(0) / "checkpoints").glob("epoch*.ckpt"))
    assert len(checkpoints) == 2  # the top 2 of 3 epochs
    exported = load_file(cfg.fold_dir(0) / "model.safetensors")
    mean = average_checkpoints(checkpoints)
    torch.testing.assert_close(exported["head.weight"], mean["net.head.weight"])  # the averaged weights
    bn = "backbone.bn1.running_mean"
    assert not torch.allclose(exported[bn], mean[f"net.{bn}"])  # statistics recomputed for them


class RecordEpochEnds(L.Callback):
    """The raw head weights at the end of every training epoch."""

    def __init__(self):
        self.weights = []

    def on_train_epoch_end(self, trainer, pl_module):
        self.weights.append(pl_module.net.head.weight.detach().clone())


def swa_fold(cfg, *callbacks):
    module, data, trainer, checkpoint = build_fold(cfg, load_competition(cfg), 0)
    recorder = RecordEpochEnds()
    trainer.callbacks.extend([recorder, *callbacks])
    trainer.fit(module, datamodule=data)

    def predict():
        predictions, weights = fold_predictions(cfg, module, data, trainer, checkpoint)
        module.load_state_dict(weights)  # the chosen weights, as the fold exports them
        return predictions

    return module, recorder.weights, predict


def test_swa_weights_are_the_mean_of_the_epoch_ends_with_batchnorm_recomputed(tiny):
    cfg = with_swa(tiny, epochs=3, start=1)
    module, epoch_ends, predict = swa_fold(cfg)
    # A checkpoint of epoch e holds what its validation scored, the average of epochs 1 to e, and the raw
    # weights beside it; before the first update, the raw weights only.
    for path in (cfg.fold_dir(0) / "checkpoints").glob("*.ckpt"):
        saved = torch.load(path, weights_only=True)
        averaged, raw = epoch_ends[1 : saved["epoch"] + 1], epoch_ends[saved["epoch"]]
        head = saved["state_dict"]["net.head.weight"]
        if averaged:
            torch.testing.assert_close(head, torch.stack(averaged).mean(dim=0))
            torch.testing.assert_close(saved["current_model_state"]["net.head.weight"], raw)
        else:
            assert "current_model_state" not in saved
            torch.testing.assert_close(head, raw)
    averaged_mean = module.net.backbone.bn1.running_mean.clone()  # the average of the epochs' statistics
    predictions = predict()
    torch.testing.assert_close(module.net.head.weight, (epoch_ends[1] + epoch_ends[2]) / 2)
    assert not torch.allclose(module.net.backbone.bn1.running_mean, averaged_mean)
    assert [variant for variant, _ in predictions.items()] == ["", "best"]


def test_early_stopping_before_swa_starts_is_an_error_not_the_raw_weights(tiny):
    stop_now = EarlyStopping(monitor="val/accuracy", mode="max", stopping_threshold=0.0)  # after epoch 0
    cfg = with_swa(tiny, epochs=3, start=1)
    _, _, predict = swa_fold(cfg, stop_now)
    message = r"before SWA's first update at the end of epoch 1 \(averaging.swa_start_epoch\)"
    with pytest.raises(ConfigError, match=message):
        predict()


def test_early_stopping_after_swa_starts_keeps_the_average_so_far(tiny):
    stop_now = EarlyStopping(monitor="val/accuracy", mode="max", stopping_threshold=0.0)
    cfg = with_swa(tiny, epochs=3, start=0)
    module, epoch_ends, predict = swa_fold(cfg, stop_now)
    predict()
    assert len(epoch_ends) == 1
    torch.testing.assert_close(module.net.head.weight, epoch_ends[0])


def test_swa_lr_anneals_to_its_rate_then_holds_it():
    base = partial(lr_factor, total=100, warmup=10, schedule="cosine")
    factor = partial(swa_lr_factor, base=base, start=60, anneal=20, target=0.05)
    assert factor(0) == pytest.approx(0.01) and factor(10) == pytest.approx(1.0)  # warmup, then the schedule
    assert factor(59) == pytest.approx(base(59)) and factor(60) == pytest.approx(base(60))
    assert base(60) > factor(70) > 0.05
    assert [factor(step) for step in (80, 90, 99)] == pytest.approx([0.05] * 3)
