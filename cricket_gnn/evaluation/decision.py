"""Per-class decision bias on log-probabilities, tuned on validation for macro F1."""

from __future__ import annotations

from typing import Any

import numpy as np

from cricket_gnn.evaluation.confusion import confusion_counts, macro_f1_from_confusion
from cricket_gnn.evaluation.constants import NUM_CLASSES
from cricket_gnn.evaluation.inputs import (
    check_bias,
    check_labels_and_probs,
    clipped_log,
    to_numpy,
)

DEFAULT_BIAS_GRID = np.linspace(-3.0, 3.0, 61)
# A candidate must beat the current macro F1 by more than rounding noise to be taken, so
# tuning never trades one confusion matrix for another that only looks better by an ulp.
_MIN_IMPROVEMENT = 1e-12
# Candidates are swept in blocks so the (candidates, samples) work arrays stay near 32 MB.
_MAX_SWEEP_ELEMENTS = 4_000_000


def predict_with_bias(probs: Any, decision_bias: Any) -> np.ndarray:
    """Return argmax(log(probs) + decision_bias) per row; probs (n, 7), bias (7,)."""
    prob_array = to_numpy(probs).astype(np.float64, copy=False)
    if prob_array.ndim != 2 or prob_array.shape[1] != NUM_CLASSES:
        raise ValueError(f"probs must have shape (n, {NUM_CLASSES}), got {prob_array.shape}")
    return (clipped_log(prob_array) + check_bias(decision_bias)).argmax(axis=1)


def tune_decision_bias(
    y_true: Any,
    probs: Any,
    num_rounds: int = 3,
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """Coordinate ascent on a per-class log-probability bias maximising macro F1.

    The bias of class 0 (dot) stays 0: adding a constant to every class changes nothing,
    so one class must be pinned. `grid` defaults to `np.linspace(-3, 3, 61)`.
    """
    labels, prob_array = check_labels_and_probs(y_true, probs)
    candidates = DEFAULT_BIAS_GRID if grid is None else np.asarray(grid, dtype=np.float64)
    if candidates.ndim != 1 or len(candidates) == 0 or not np.all(np.isfinite(candidates)):
        raise ValueError("grid must be a non-empty 1-D array of finite bias values")
    if num_rounds < 1:
        raise ValueError(f"num_rounds must be at least 1, got {num_rounds}")

    log_probs = clipped_log(prob_array)  # (n, 7)
    bias = np.zeros(NUM_CLASSES)
    best_f1 = float(macro_f1_from_confusion(confusion_counts(labels, log_probs.argmax(axis=1))))
    for _ in range(num_rounds):
        improved = False
        for class_id in range(1, NUM_CLASSES):
            f1_by_candidate = _sweep_class(labels, log_probs, bias, class_id, candidates)
            best_index = int(f1_by_candidate.argmax())
            if f1_by_candidate[best_index] > best_f1 + _MIN_IMPROVEMENT:
                best_f1 = float(f1_by_candidate[best_index])
                bias[class_id] = candidates[best_index]
                improved = True
        if not improved:
            break
    return bias


def _sweep_class(
    labels: np.ndarray,
    log_probs: np.ndarray,
    bias: np.ndarray,
    class_id: int,
    candidates: np.ndarray,
) -> np.ndarray:
    """Macro F1 for every candidate bias of one class, the other biases held fixed.

    **Shapes:** labels (n,), log_probs (n, 7), candidates (G,) -> macro F1 (G,).
    """
    others = log_probs + bias
    others[:, class_id] = -np.inf
    other_class = others.argmax(axis=1)  # (n,)
    other_best = others[np.arange(len(labels)), other_class]
    true_codes = labels * NUM_CLASSES
    block = max(1, _MAX_SWEEP_ELEMENTS // len(labels))
    f1_blocks = []
    for start in range(0, len(candidates), block):
        chunk = candidates[start : start + block]
        class_score = log_probs[:, class_id][None, :] + chunk[:, None]  # (g, n)
        # Break ties like np.argmax (lowest index wins) so the tuned bias scores exactly as
        # predict_with_bias will later predict.
        wins = (class_score > other_best) | ((class_score == other_best) & (class_id < other_class))
        predictions = np.where(wins, class_id, other_class)  # (g, n)
        offsets = (NUM_CLASSES**2) * np.arange(len(chunk))[:, None]
        codes = (true_codes + predictions + offsets).ravel()
        confusion = np.bincount(codes, minlength=len(chunk) * NUM_CLASSES**2)
        f1_blocks.append(
            macro_f1_from_confusion(confusion.reshape(len(chunk), NUM_CLASSES, NUM_CLASSES))
        )
    return np.concatenate(f1_blocks)
