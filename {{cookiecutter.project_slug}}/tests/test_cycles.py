"""optim.schedule cycles: cosine cycles of 5, 10, 20... epochs whose last one runs to the end, and the fold
stopping at a cycle's end that did not improve, or at a perfect score."""

from itertools import pairwise
from types import SimpleNamespace

import pytest
import torch
from conftest import PROJECT
from lightning.pytorch.callbacks import EarlyStopping

from {{ cookiecutter.module_name }}.config import ConfigError, load_config
from {{ cookiecutter.module_name }}.config.metrics import METRICS, get_metric
from {{ cookiecutter.module_name }}.training.callbacks import CycleStop
from {{ cookiecutter.module_name }}.training.schedules import CycleRule, cycle_ends, lr_factor, make_schedule

VISION = PROJECT / "configs" / "vision.yaml"


@pytest.mark.parametrize(
    "epochs, ends",
    [(3, [3]), (5, [5]), (14, [14]), (15, [5, 15]), (23, [5, 23]), (35, [5, 15, 35]), (80, [5, 15, 35, 80])],
)
def test_cycles_double_and_the_last_one_runs_to_the_end(epochs, ends):
    assert cycle_ends(epochs) == ends


def test_each_cycle_restarts_at_the_full_rate_and_anneals_to_zero_before_the_next():
    factor = [lr_factor(step, total=150, warmup=5, schedule="cycles", restarts=(50,)) for step in range(150)]
    assert factor[0] == pytest.approx(0.01) and factor[5] == pytest.approx(1.0)  # the first cycle's warmup
    assert factor[49] < 0.01 and factor[50] == pytest.approx(1.0)  # the restart: no second warmup
    assert factor[100] == pytest.approx(0.5) and factor[149] < 0.001  # the second cycle's cosine, to the end
    assert all(a >= b for a, b in pairwise(factor[5:50]))


def test_the_schedule_restarts_on_the_epoch_where_the_first_cycle_ends():
    cfg = load_config(VISION)
    assert cfg.optim.schedule == "cycles"  # as it ships
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim.lr)
    schedule = make_schedule(cfg, optimizer, total=23 * 18, epochs=23)  # 18 steps an epoch: restart at step 90
    rates = []
    for _ in range(23 * 18):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert max(rates[:90]) == pytest.approx(cfg.optim.lr) and rates[89] < 0.01 * cfg.optim.lr
    assert rates[90] == pytest.approx(cfg.optim.lr) and rates[-1] < 0.001 * cfg.optim.lr
    assert rates[8] < cfg.optim.lr == pytest.approx(rates[9])  # warmup: 10% of the first cycle's 90 steps


def stop_after(scores: list[float], epochs: int, metric: str = "accuracy", min_delta: float = 0.0) -> int | None:
    """The epoch (from 1) after which the cycles stop a fold with these validation scores, or None."""
    rule = CycleRule(epochs, get_metric(metric), min_delta)
    return next((epoch for epoch, score in enumerate(scores, 1) if rule.stop_after(epoch, score)), None)


def test_a_fold_stops_after_a_cycle_that_did_not_improve_or_at_a_perfect_score():
    first = [0.5, 0.6, 0.7, 0.8, 0.8]
    assert stop_after([*first, *[0.6] * 9, 0.79, *[0.9] * 20], 35) == 15  # cycle 2 stayed below 0.8
    assert stop_after([*first, *[0.6] * 9, 0.81, *[0.9] * 20], 35) is None  # it improved: go on
    assert stop_after([*first, *[0.6] * 9, 0.81, *[0.9] * 20], 35, min_delta=0.02) == 15  # not by enough
    assert stop_after([*first, *[0.6] * 18], 23) is None  # the last cycle always runs to the end
    assert stop_after([0.5, 0.9, 1.0, 1.0], 23) == 3  # nothing is left to learn
    perfect = CycleRule(23, get_metric("accuracy"))
    assert perfect.stop_after(1, 1.0) and perfect.why == "a perfect validation score, 1.0000"
    assert stop_after([0.9, 0.4, 0.2, 0.0, 0.1], 23, metric="rmse") == 4  # lower is better: 0 is perfect
    assert stop_after([*first[:4], float("nan"), *[0.85] * 10], 35) is None  # a NaN epoch is passed over


@pytest.mark.parametrize("name", list(METRICS))
def test_a_perfect_score_logged_as_float32_stops_early_stopping(name):
    metric = get_metric(name)
    stopping = EarlyStopping("val/score", mode=metric.mode, stopping_threshold=metric.perfect_threshold)
    perfect, short = (
        torch.tensor(metric.perfect),
        torch.tensor(metric.perfect + (-0.01 if metric.higher_is_better else 0.01)),
    )
    assert stopping._evaluate_stopping_criteria(perfect)[0]  # the check EarlyStopping makes at each validation
    assert not stopping._evaluate_stopping_criteria(short)[0]


def test_a_fold_resumed_after_its_stop_stops_again_and_compares_as_before(caplog):
    stop = CycleStop(CycleRule(35, get_metric("accuracy")), "val/score")
    for epoch, score in enumerate([0.5, 0.6, 0.7, 0.8, 0.8, *[0.6] * 10]):
        metrics = {"val/score": score}
        trainer = SimpleNamespace(
            sanity_checking=False, current_epoch=epoch, max_epochs=35, should_stop=False, callback_metrics=metrics
        )
        stop.on_validation_end(trainer, None)
    assert trainer.should_stop and trainer.current_epoch + 1 == 15
    said = "cycles: the fold stops after epoch 15 of 35: the cycle ending here did not beat the best score before it"
    assert f"{said}, 0.8000" in caplog.text  # why a fold of 35 epochs ended at 15, in its output
    resumed = CycleStop(CycleRule(35, get_metric("accuracy")), "val/score")
    resumed.load_state_dict(stop.state_dict())  # what last.ckpt holds
    started = SimpleNamespace(should_stop=False)
    resumed.on_train_start(started, None)
    assert started.should_stop and resumed.rule.best_before == 0.8


@pytest.mark.parametrize(
    "flags, key",
    [
        (["--averaging.weights", "swa"], "averaging.weights"),
        (["--callbacks.accumulate_schedule", "{0: 1, 2: 4}"], "callbacks.accumulate_schedule"),
        (["--trainer.max_steps", "100"], "trainer.max_steps"),
    ],
)
def test_what_cycles_do_not_go_with_is_refused_naming_both_keys(flags, key):
    with pytest.raises(ConfigError, match=f"'optim.schedule': cycles do not go with {key}; use cosine or linear"):
        load_config(VISION, flags)
    assert load_config(VISION, [*flags, "--optim.schedule", "cosine"]).optim.schedule == "cosine"
