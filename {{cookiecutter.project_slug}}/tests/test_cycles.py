"""optim.schedule cycles: cosine cycles of 5, 10, 20... epochs whose last one runs to the end, and the fold
stopping at a cycle's end that did not improve, or at a perfect score."""

from itertools import pairwise
from types import SimpleNamespace

import pytest
import torch
from conftest import PROJECT

from {{ cookiecutter.module_name }}.config import ConfigError, load_config
from {{ cookiecutter.module_name }}.metrics import get_metric
from {{ cookiecutter.module_name }}.schedules import cycle_ends, lr_factor
from {{ cookiecutter.module_name }}.trainer import CycleStop


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


def stop_after(scores: list[float], ends: list[int], metric: str = "accuracy") -> int | None:
    """The epoch (from 1) after which CycleStop stops a fold with these validation scores, or None."""
    stop = CycleStop(ends, "val/score", get_metric(metric))
    for epoch, score in enumerate(scores):
        trainer = SimpleNamespace(
            sanity_checking=False,
            current_epoch=epoch,
            should_stop=False,
            callback_metrics={"val/score": torch.tensor(score)},
        )
        stop.on_validation_end(trainer, None)
        if trainer.should_stop:
            return epoch + 1
    return None


def test_a_fold_stops_after_a_cycle_that_did_not_improve_or_at_a_perfect_score():
    first = [0.5, 0.6, 0.7, 0.8, 0.8]
    assert stop_after([*first, *[0.6] * 9, 0.79, *[0.9] * 20], [5, 15, 35]) == 15  # cycle 2 stayed below 0.8
    assert stop_after([*first, *[0.6] * 9, 0.81, *[0.9] * 20], [5, 15, 35]) is None  # it improved: go on
    assert stop_after([*first, *[0.6] * 18], [5, 23]) is None  # the last cycle always runs to the end
    assert stop_after([0.5, 0.9, 1.0, 1.0], [5, 23]) == 3  # nothing is left to learn
    assert stop_after([0.9, 0.4, 0.2, 0.0, 0.1], [5, 23], metric="rmse") == 4  # lower is better: 0 is perfect


def test_swa_with_cycles_is_refused_naming_the_schedule():
    vision = PROJECT / "configs" / "vision.yaml"
    assert load_config(vision).optim.schedule == "cycles"  # as it ships
    with pytest.raises(ConfigError, match=r"'optim.schedule': cycles restart the rate.*use cosine or linear"):
        load_config(vision, ["--averaging.weights", "swa"])
    assert load_config(vision, ["--averaging.weights", "swa", "--optim.schedule", "cosine"]).averaging.weights == "swa"
