"""compute_metrics against hand-computed values and sklearn."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import f1_score, log_loss

from cricket_gnn.evaluation import CLASS_NAMES, compute_metrics


def test_hand_example_headline_metrics(hand) -> None:
    metrics = compute_metrics(hand.y_true, hand.probs)
    assert metrics["n"] == 5
    # Brier per ball: 0.11, 0.22, 0.94, 0.70, 0.06.
    assert metrics["brier"] == pytest.approx(2.03 / 5)
    # Every ball sits in its own confidence bin: mean |correct - confidence|.
    assert metrics["ece"] == pytest.approx((0.3 + 0.4 + 0.5 + 0.4 + 0.2) / 5)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    # Per-class F1: dot 2/3, four 1, wicket 2/3, the other four classes 0.
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 7)
    assert metrics["weighted_f1"] == pytest.approx((2 / 3 + 0 + 1 + 2 * 2 / 3) / 5)
    assert metrics["wicket_recall"] == pytest.approx(1 / 2)
    # Predicted boundaries: the four (right) and the six that was a single (wrong).
    assert metrics["boundary_precision"] == pytest.approx(1 / 2)
    # Expected runs 0.85, 3.2, 0.6, 3.1, 0.1 against 0, 4, 0, 1, 0.
    assert metrics["expected_runs_mae"] == pytest.approx((0.85 + 0.8 + 0.6 + 2.1 + 0.1) / 5)
    expected_loss = -(np.log(0.7) + np.log(0.6) + np.log(0.2) + np.log(0.3) + np.log(0.8)) / 5
    assert metrics["log_loss"] == pytest.approx(expected_loss)
    assert metrics["mean_predicted_distribution"]["dot"] == pytest.approx(1.6 / 5)
    assert metrics["mean_predicted_distribution"]["wicket"] == pytest.approx(1.0 / 5)


def test_ece_pools_balls_that_share_a_bin() -> None:
    # Confidences 0.90 (right) and 0.92 (wrong) share the bin (0.867, 0.933].
    probs = np.array([[0.90, 0.10, 0, 0, 0, 0, 0], [0.92, 0.08, 0, 0, 0, 0, 0]])
    metrics = compute_metrics(np.array([0, 1]), probs)
    assert metrics["ece"] == pytest.approx(abs(1 - 1.82) / 2)


def test_hand_example_per_class_and_groups(hand) -> None:
    metrics = compute_metrics(hand.y_true, hand.probs, phase=hand.phase, innings=hand.innings)
    assert list(metrics["per_class"]) == list(CLASS_NAMES)
    assert metrics["per_class"]["dot"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert metrics["per_class"]["wicket"]["support"] == 2
    assert metrics["per_class"]["two"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}

    powerplay = metrics["per_phase"]["powerplay"]
    assert powerplay["n"] == 2 and powerplay["accuracy"] == 1.0
    assert powerplay["log_loss"] == pytest.approx(-(np.log(0.7) + np.log(0.6)) / 2)
    assert metrics["per_phase"]["death_2"]["accuracy"] == pytest.approx(1 / 3)
    assert metrics["per_phase"]["middle_1"] == {
        "n": 0,
        "macro_f1": None,
        "log_loss": None,
        "accuracy": None,
    }
    assert metrics["per_innings"]["1"] == powerplay
    assert metrics["per_innings"]["2"]["n"] == 3


def test_explicit_runs_replace_class_run_values(hand) -> None:
    # Ball 4 was a wicket on which the batters had crossed for 1 (label: wicket, runs: 1).
    runs = np.array([0, 4, 0, 1, 1])
    metrics = compute_metrics(hand.y_true, hand.probs, runs=runs)
    assert metrics["expected_runs_mae"] == pytest.approx((0.85 + 0.8 + 0.6 + 2.1 + 0.9) / 5)


def test_decision_bias_reports_tuned_scores_separately(hand) -> None:
    # +2 on wicket turns ball 2 (p_wicket 0.2 vs p_dot 0.5) into a wicket call.
    bias = np.array([0, 0, 0, 0, 0, 0, 2.0])
    metrics = compute_metrics(hand.y_true, hand.probs, decision_bias=bias)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["accuracy_tuned"] == pytest.approx(4 / 5)
    assert metrics["wicket_recall_tuned"] == 1.0
    assert metrics["boundary_precision_tuned"] == pytest.approx(1 / 2)
    assert metrics["macro_f1_tuned"] > metrics["macro_f1"]
    assert "weighted_f1_tuned" in metrics
    assert "macro_f1_tuned" not in compute_metrics(hand.y_true, hand.probs)


def test_log_loss_and_f1_equal_sklearn(make_batch) -> None:
    batch = make_batch(400, 1)
    metrics = compute_metrics(batch["y_true"], batch["probs"])
    predictions = batch["probs"].argmax(axis=1)
    labels = list(range(7))
    assert metrics["log_loss"] == pytest.approx(
        log_loss(batch["y_true"], y_proba=batch["probs"], labels=labels), abs=1e-12
    )
    for average in ("macro", "weighted"):
        expected = f1_score(
            batch["y_true"], predictions, labels=labels, average=average, zero_division=0
        )
        assert metrics[f"{average}_f1"] == pytest.approx(expected, abs=1e-12)


def test_absent_classes_raise_no_warnings_and_result_is_json() -> None:
    y_true = np.array([0, 0, 1, 0])  # no two, three, four, six or wicket
    probs = np.full((4, 7), 1 / 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = compute_metrics(
            y_true, probs, phase=[0, 1, 1, 0], innings=[1, 1, 1, 1], decision_bias=np.zeros(7)
        )
    assert metrics["per_innings"]["2"]["n"] == 0
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert math.isclose(metrics["log_loss"], np.log(7))


def test_float32_probabilities_are_accepted(make_batch) -> None:
    batch = make_batch(200, 2)
    as_float32 = compute_metrics(batch["y_true"], batch["probs"].astype(np.float32))
    assert as_float32["log_loss"] == pytest.approx(
        compute_metrics(batch["y_true"], batch["probs"])["log_loss"], abs=1e-6
    )


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda h: (h.y_true[:4], h.probs, {}), "rows"),
        (lambda h: (h.y_true, h.probs[:, :6], {}), "shape"),
        (lambda h: (h.y_true + 1, h.probs, {}), "class ids"),
        (lambda h: (h.y_true, h.probs * 3 - 1, {}), "logits"),
        (lambda h: (h.y_true, h.probs * 0.5, {}), "sum to 1"),
        (lambda h: (h.y_true, h.probs, {"phase": h.phase + 1}), "phase"),
        (lambda h: (h.y_true, h.probs, {"innings": h.innings - 1}), "innings"),
        (lambda h: (h.y_true, h.probs, {"decision_bias": np.zeros(6)}), "decision_bias"),
        (lambda h: (h.y_true, h.probs, {"runs": np.zeros(4)}), "runs"),
        (lambda h: (h.y_true[:0], h.probs[:0], {}), "zero samples"),
    ],
)
def test_bad_input_raises_value_error(hand, corrupt, message) -> None:
    y_true, probs, kwargs = corrupt(hand)
    with pytest.raises(ValueError, match=message):
        compute_metrics(y_true, probs, **kwargs)
