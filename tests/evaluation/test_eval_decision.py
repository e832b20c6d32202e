"""Decision-bias tuning for macro F1."""

from __future__ import annotations

import numpy as np
import pytest

from cricket_gnn.evaluation import compute_metrics, predict_with_bias, tune_decision_bias

# Roughly the next-ball class mix of T20 cricket: dots and singles dominate.
PRIOR = np.array([0.36, 0.33, 0.07, 0.01, 0.11, 0.05, 0.07])


def imbalanced_case(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated-ish probabilities with a weak signal, so argmax rarely calls a rare class."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(7, size=num_samples, p=PRIOR)
    logits = np.log(PRIOR) + 1.0 * np.eye(7)[labels] + rng.normal(0, 0.7, (num_samples, 7))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, probs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tuning_never_lowers_macro_f1_on_its_own_set(make_batch, seed: int) -> None:
    batch = make_batch(1500, seed)
    bias = tune_decision_bias(batch["y_true"], batch["probs"])
    metrics = compute_metrics(batch["y_true"], batch["probs"], decision_bias=bias)
    assert metrics["macro_f1_tuned"] >= metrics["macro_f1"] - 1e-12
    assert bias.shape == (7,) and bias[0] == 0.0


def test_tuning_raises_macro_f1_when_classes_are_imbalanced() -> None:
    labels, probs = imbalanced_case(20_000, seed=3)
    bias = tune_decision_bias(labels, probs)
    metrics = compute_metrics(labels, probs, decision_bias=bias)
    assert metrics["macro_f1_tuned"] > metrics["macro_f1"] + 0.02
    assert metrics["wicket_recall_tuned"] > metrics["wicket_recall"]
    # Rare classes need a push up relative to the dot they are confused with.
    assert bias[3] > 0 and bias[6] > 0

    # The gain carries over to fresh data from the same distribution.
    test_labels, test_probs = imbalanced_case(20_000, seed=4)
    test_metrics = compute_metrics(test_labels, test_probs, decision_bias=bias)
    assert test_metrics["macro_f1_tuned"] > test_metrics["macro_f1"]


def test_zero_bias_predicts_argmax(hand) -> None:
    assert np.array_equal(predict_with_bias(hand.probs, np.zeros(7)), hand.probs.argmax(axis=1))


def test_custom_grid_is_respected() -> None:
    labels, probs = imbalanced_case(3000, seed=5)
    grid = np.array([0.0, 0.5, 1.0])
    bias = tune_decision_bias(labels, probs, num_rounds=1, grid=grid)
    assert set(bias.tolist()) <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"num_rounds": 0}, "num_rounds"), ({"grid": np.array([])}, "grid")],
)
def test_bad_settings_raise_value_error(hand, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        tune_decision_bias(hand.y_true, hand.probs, **kwargs)
