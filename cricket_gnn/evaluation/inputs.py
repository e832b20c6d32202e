"""Validation and conversion of the arrays every metric takes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cricket_gnn.evaluation.constants import CLASS_RUNS, INNINGS, NUM_CLASSES, NUM_PHASES

# sklearn's log_loss clips at the machine epsilon of float64 (not the old 1e-15); matching it
# exactly keeps our accumulated log loss equal to sklearn's to rounding error.
PROB_EPS = float(np.finfo(np.float64).eps)
# float32 softmax rows miss [0, 1] and a sum of 1 by a few ulps; anything further off is a
# caller bug (logits, unnormalised scores) rather than rounding.
_PROB_TOLERANCE = 1e-4


def to_numpy(values: Any) -> np.ndarray:
    """Return `values` (numpy, torch or a sequence) as a numpy array on the CPU."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def check_labels_and_probs(y_true: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate labels (n,) and probabilities (n, 7); return int64 labels and float64 probs."""
    labels = to_numpy(y_true)
    prob_array = to_numpy(probs).astype(np.float64, copy=False)
    if labels.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {labels.shape}")
    if prob_array.ndim != 2 or prob_array.shape[1] != NUM_CLASSES:
        raise ValueError(f"probs must have shape (n, {NUM_CLASSES}), got {prob_array.shape}")
    if len(labels) != len(prob_array):
        raise ValueError(f"y_true has {len(labels)} rows but probs has {len(prob_array)}")
    if len(labels) == 0:
        raise ValueError("cannot evaluate zero samples")
    if not np.issubdtype(labels.dtype, np.integer) and not np.all(np.mod(labels, 1) == 0):
        raise ValueError("y_true must hold integer class ids")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(f"y_true must hold class ids in 0..{NUM_CLASSES - 1}")
    if not np.all(np.isfinite(prob_array)):
        raise ValueError("probs contains NaN or infinite values")
    if prob_array.min() < -_PROB_TOLERANCE or prob_array.max() > 1 + _PROB_TOLERANCE:
        raise ValueError("probs must lie in [0, 1]; pass softmax outputs, not logits")
    row_sums = prob_array.sum(axis=1)
    if np.abs(row_sums - 1.0).max() > _PROB_TOLERANCE:
        raise ValueError("each row of probs must sum to 1; pass softmax outputs, not logits")
    # Renormalise in float64 so float32 rounding neither trips sklearn's sum-to-one warning
    # nor lets the single-process and accumulated metrics see different numbers.
    prob_array = np.clip(prob_array, 0.0, None)
    return labels, prob_array / prob_array.sum(axis=1, keepdims=True)


def check_phase(phase: Any, num_samples: int) -> np.ndarray:
    """Validate phase ids (0..4), one per sample; return int64."""
    phase_ids = _check_ids(phase, num_samples, "phase")
    if phase_ids.min() < 0 or phase_ids.max() >= NUM_PHASES:
        raise ValueError(f"phase must hold phase ids in 0..{NUM_PHASES - 1}")
    return phase_ids


def check_innings(innings: Any, num_samples: int) -> np.ndarray:
    """Validate innings numbers (1 or 2), one per sample; return them 0-indexed as int64."""
    innings_numbers = _check_ids(innings, num_samples, "innings")
    if not np.all(np.isin(innings_numbers, INNINGS)):
        raise ValueError(f"innings must hold innings numbers in {INNINGS}")
    return innings_numbers - INNINGS[0]


def check_runs(runs: Any, y_true: np.ndarray) -> np.ndarray:
    """Validate actual runs off the bat; default to the run value of each true class."""
    if runs is None:
        return np.asarray(CLASS_RUNS, dtype=np.float64)[y_true]
    run_values = to_numpy(runs).astype(np.float64, copy=False)
    if run_values.shape != y_true.shape:
        raise ValueError(f"runs must have shape {y_true.shape}, got {run_values.shape}")
    if not np.all(np.isfinite(run_values)):
        raise ValueError("runs contains NaN or infinite values")
    return run_values


def check_bias(bias: Any) -> np.ndarray:
    """Validate a per-class decision bias of shape (7,); return float64."""
    bias_array = to_numpy(bias).astype(np.float64, copy=False)
    if bias_array.shape != (NUM_CLASSES,):
        raise ValueError(f"decision_bias must have shape ({NUM_CLASSES},), got {bias_array.shape}")
    if not np.all(np.isfinite(bias_array)):
        raise ValueError("decision_bias contains NaN or infinite values")
    return bias_array


def clipped_log(probs: np.ndarray) -> np.ndarray:
    """Natural log of probabilities clipped to [eps, 1 - eps], as sklearn's log_loss does."""
    return np.log(np.clip(probs, PROB_EPS, 1.0 - PROB_EPS))


def _check_ids(values: Any, num_samples: int, name: str) -> np.ndarray:
    ids = to_numpy(values)
    if ids.shape != (num_samples,):
        raise ValueError(f"{name} must have shape ({num_samples},), got {ids.shape}")
    if not np.issubdtype(ids.dtype, np.integer) and not np.all(np.mod(ids, 1) == 0):
        raise ValueError(f"{name} must hold integers")
    return ids.astype(np.int64)
