"""Scores derived from additive counts: confusion matrices and calibration bins."""

from __future__ import annotations

from typing import Any

import numpy as np

from cricket_gnn.evaluation.constants import (
    BOUNDARY_CLASSES,
    CLASS_NAMES,
    ECE_NUM_BINS,
    NUM_CLASSES,
    WICKET_CLASS,
)


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Return the (7, 7) confusion matrix, rows = true class, columns = predicted class."""
    codes = y_true * NUM_CLASSES + y_pred
    return np.bincount(codes, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def per_class_scores(confusion: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return precision, recall, F1 and support per class; 0 where a ratio is 0/0."""
    confusion = np.asarray(confusion, dtype=np.float64)
    true_positives = np.diagonal(confusion, axis1=-2, axis2=-1)
    support = confusion.sum(axis=-1)
    predicted = confusion.sum(axis=-2)
    # Same convention as sklearn with zero_division=0, so the two paths agree exactly.
    precision = _safe_divide(true_positives, predicted)
    recall = _safe_divide(true_positives, support)
    f1 = _safe_divide(2.0 * true_positives, support + predicted)
    return precision, recall, f1, support


def macro_f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Macro F1 over all 7 classes for one (7, 7) matrix or a stack (..., 7, 7)."""
    return per_class_scores(confusion)[2].mean(axis=-1)


def scores_from_confusion(confusion: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, per-class scores, wicket recall and boundary precision."""
    confusion = np.asarray(confusion, dtype=np.float64)
    num_samples = confusion.sum()
    if num_samples <= 0:
        raise ValueError("confusion matrix is empty")
    precision, recall, f1, support = per_class_scores(confusion)
    return {
        "accuracy": float(np.trace(confusion) / num_samples),
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((f1 * support).sum() / num_samples),
        "per_class": {
            name: {
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(round(support[k])),
            }
            for k, name in enumerate(CLASS_NAMES)
        },
        "wicket_recall": float(recall[WICKET_CLASS]),
        "boundary_precision": boundary_precision_from_confusion(confusion),
    }


def boundary_precision_from_confusion(confusion: np.ndarray) -> float:
    """Share of predicted fours/sixes whose true class is a four or a six; 0.0 if none."""
    boundary = list(BOUNDARY_CLASSES)
    predicted_boundaries = confusion[:, boundary].sum()
    if predicted_boundaries == 0:
        return 0.0
    return float(confusion[np.ix_(boundary, boundary)].sum() / predicted_boundaries)


def ece_bin_stats(y_true: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per-bin (count, sum of top-1 confidence, sum of correct) over 15 equal-width bins.

    **Shapes:** y_true (n,), probs (n, 7) -> (3, 15).
    """
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_true).astype(np.float64)
    # Bins are (lo, hi]; a confidence of exactly 0 falls into the first bin.
    bin_index = np.clip(np.ceil(confidence * ECE_NUM_BINS).astype(np.int64) - 1, 0, None)
    bin_index = np.minimum(bin_index, ECE_NUM_BINS - 1)
    return np.stack(
        [
            np.bincount(bin_index, minlength=ECE_NUM_BINS).astype(np.float64),
            np.bincount(bin_index, weights=confidence, minlength=ECE_NUM_BINS),
            np.bincount(bin_index, weights=correct, minlength=ECE_NUM_BINS),
        ]
    )


def ece_from_bins(bin_stats: np.ndarray) -> float:
    """Expected calibration error from (count, sum confidence, sum correct) per bin."""
    counts, confidence_sums, correct_sums = bin_stats
    num_samples = counts.sum()
    if num_samples <= 0:
        raise ValueError("calibration bins are empty")
    # sum_b (n_b / n) * |acc_b - conf_b| == sum_b |correct_b - conf_b| / n
    return float(np.abs(correct_sums - confidence_sums).sum() / num_samples)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)
