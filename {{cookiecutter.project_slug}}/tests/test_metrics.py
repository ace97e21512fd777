import numpy as np
import pytest

from {{ cookiecutter.module_name }}.config.metrics import METRICS

RNG = np.random.default_rng(0)
N = 200


def cases(kind):
    """(targets, a perfect prediction, a noisy one) in the layout of problem.Problem."""
    if kind == "multiclass":
        y = RNG.integers(0, 4, N)
        perfect = np.eye(4)[y] * 0.96 + 0.01  # rows sum to 1
        noisy = perfect + RNG.uniform(0, 3, perfect.shape)
        return y, perfect, noisy / noisy.sum(1, keepdims=True)
    if kind in ("binary", "multilabel"):
        y = RNG.integers(0, 2, (N, 1 if kind == "binary" else 3)).astype(float)
        return y, np.abs(y - 0.02), np.clip(np.abs(y - 0.02) + RNG.normal(0, 0.45, y.shape), 0.01, 0.99)
    y = RNG.integers(0, 5, (N, 1)).astype(float)
    return y, y.copy(), y + RNG.normal(0, 1.5, y.shape)


@pytest.mark.parametrize(
    ("name", "kind"), [(name, kind) for name, metric in METRICS.items() for kind in sorted(metric.problems)]
)
def test_a_perfect_prediction_scores_better_than_a_noisy_one(name, kind):
    metric = METRICS[name]
    y, perfect, noisy = cases(kind)
    best, worse = metric(y, perfect, kind), metric(y, noisy, kind)
    assert np.isfinite(best) and np.isfinite(worse)
    assert (best > worse) if metric.higher_is_better else (best < worse)
    assert metric.mode == ("max" if metric.higher_is_better else "min")


def test_known_values():
    y = np.array([0, 1, 2, 2])
    probs = np.eye(3)[[0, 1, 1, 2]]
    assert METRICS["accuracy"](y, probs, "multiclass") == 0.75
    assert METRICS["rmse"](np.array([[0.0], [0.0]]), np.array([[3.0], [4.0]]), "regression") == pytest.approx(12.5**0.5)
    assert METRICS["mae"](np.array([[0.0], [0.0]]), np.array([[3.0], [-4.0]]), "regression") == 3.5
