"""Single-process evaluation metrics for next-ball class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support

from cricket_gnn.evaluation.confusion import (
    boundary_precision_from_confusion,
    confusion_counts,
    ece_bin_stats,
    ece_from_bins,
)
from cricket_gnn.evaluation.constants import (
    CLASS_NAMES,
    CLASS_RUNS,
    INNINGS,
    NUM_CLASSES,
    PHASE_NAMES,
    WICKET_CLASS,
)
from cricket_gnn.evaluation.decision import predict_with_bias
from cricket_gnn.evaluation.inputs import (
    check_bias,
    check_innings,
    check_labels_and_probs,
    check_phase,
    check_runs,
)

LABELS = list(range(NUM_CLASSES))


def compute_metrics(
    y_true: Any,
    probs: Any,
    phase: Any | None = None,
    innings: Any | None = None,
    runs: Any | None = None,
    decision_bias: Any | None = None,
) -> dict[str, Any]:
    """Every evaluation metric for labels (n,) and probabilities (n, 7), as plain Python values.

    `phase` holds phase ids 0..4, `innings` holds 1 or 2, `runs` the actual runs off the bat
    (defaults to each true class's run value). Groups with no samples report `n=0` and None.
    """
    labels, prob_array = check_labels_and_probs(y_true, probs)
    num_samples = len(labels)
    run_values = check_runs(runs, labels)
    predictions = prob_array.argmax(axis=1)

    one_hot = np.eye(NUM_CLASSES)[labels]
    expected_runs = prob_array @ np.asarray(CLASS_RUNS, dtype=np.float64)
    metrics: dict[str, Any] = {
        "n": num_samples,
        "log_loss": float(log_loss(labels, y_proba=prob_array, labels=LABELS)),
        "brier": float(((prob_array - one_hot) ** 2).sum(axis=1).mean()),
        "ece": ece_from_bins(ece_bin_stats(labels, prob_array)),
        **_classification_scores(labels, predictions),
        "per_class": _per_class(labels, predictions),
        "expected_runs_mae": float(np.abs(expected_runs - run_values).mean()),
        "mean_predicted_distribution": {
            name: float(mean)
            for name, mean in zip(CLASS_NAMES, prob_array.mean(axis=0), strict=True)
        },
    }

    if phase is not None:
        phase_ids = check_phase(phase, num_samples)
        metrics["per_phase"] = {
            name: _group_metrics(labels, prob_array, predictions, phase_ids == phase_id)
            for phase_id, name in enumerate(PHASE_NAMES)
        }
    if innings is not None:
        innings_ids = check_innings(innings, num_samples)
        metrics["per_innings"] = {
            str(number): _group_metrics(labels, prob_array, predictions, innings_ids == index)
            for index, number in enumerate(INNINGS)
        }
    if decision_bias is not None:
        tuned = predict_with_bias(prob_array, check_bias(decision_bias))
        scores = _classification_scores(labels, tuned)
        metrics.update(
            {
                f"{key}_tuned": scores[key]
                for key in (
                    "accuracy",
                    "macro_f1",
                    "weighted_f1",
                    "wicket_recall",
                    "boundary_precision",
                )
            }
        )
    return metrics


def _classification_scores(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Accuracy, macro/weighted F1 (all 7 classes), wicket recall and boundary precision."""
    recall = precision_recall_fscore_support(labels, predictions, labels=LABELS, zero_division=0)[1]
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": _f1(labels, predictions, "macro"),
        "weighted_f1": _f1(labels, predictions, "weighted"),
        "wicket_recall": float(recall[WICKET_CLASS]),
        "boundary_precision": boundary_precision_from_confusion(
            confusion_counts(labels, predictions)
        ),
    }


def _per_class(labels: np.ndarray, predictions: np.ndarray) -> dict[str, dict[str, float | int]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=LABELS, zero_division=0
    )
    return {
        name: {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "support": int(support[k]),
        }
        for k, name in enumerate(CLASS_NAMES)
    }


def _group_metrics(
    labels: np.ndarray, probs: np.ndarray, predictions: np.ndarray, mask: np.ndarray
) -> dict[str, Any]:
    """n, macro F1, log loss and accuracy of the samples selected by `mask`."""
    num_samples = int(mask.sum())
    if num_samples == 0:
        return {"n": 0, "macro_f1": None, "log_loss": None, "accuracy": None}
    return {
        "n": num_samples,
        "macro_f1": _f1(labels[mask], predictions[mask], "macro"),
        "log_loss": float(log_loss(labels[mask], y_proba=probs[mask], labels=LABELS)),
        "accuracy": float(accuracy_score(labels[mask], predictions[mask])),
    }


def _f1(labels: np.ndarray, predictions: np.ndarray, average: str) -> float:
    # labels=LABELS keeps classes absent from this slice in the average (as 0), so the
    # score matches one computed from a summed 7x7 confusion matrix.
    return float(f1_score(labels, predictions, labels=LABELS, average=average, zero_division=0))
