"""Reliability bins (top-label and one-vs-rest per class) and the reliability diagram PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cricket_gnn.evaluation.confusion import ece_bin_stats
from cricket_gnn.evaluation.constants import CLASS_NAMES, ECE_NUM_BINS, NUM_CLASSES
from cricket_gnn.evaluation.inputs import check_labels_and_probs

BIN_EDGES = np.linspace(0.0, 1.0, ECE_NUM_BINS + 1)


def _bin_index(values: np.ndarray) -> np.ndarray:
    # Bins are (lo, hi] with 0 in the first, exactly as ece_bin_stats bins the confidence.
    index = np.clip(np.ceil(values * ECE_NUM_BINS).astype(np.int64) - 1, 0, None)
    return np.minimum(index, ECE_NUM_BINS - 1)


def _bins(counts: np.ndarray, predicted: np.ndarray, observed: np.ndarray) -> list[dict[str, Any]]:
    """Non-empty bins as JSON-ready rows: edges, count, mean predicted, observed frequency."""
    rows = []
    for b in np.flatnonzero(counts):
        rows.append(
            {
                "lo": float(BIN_EDGES[b]),
                "hi": float(BIN_EDGES[b + 1]),
                "n": int(counts[b]),
                "mean_predicted": float(predicted[b] / counts[b]),
                "observed": float(observed[b] / counts[b]),
            }
        )
    return rows


def top_label_bins(y_true: Any, probs: Any) -> list[dict[str, Any]]:
    """The 15 confidence bins behind ECE: mean top-1 confidence vs accuracy per bin."""
    labels, prob_array = check_labels_and_probs(y_true, probs)
    counts, confidence, correct = ece_bin_stats(labels, prob_array)
    return _bins(counts, confidence, correct)


def class_calibration(y_true: Any, probs: Any) -> dict[str, Any]:
    """One-vs-rest calibration of each class: ECE over 15 bins of p(class) and the bins.

    Class k's ECE = sum over bins of |sum of p_k − number of class-k balls| / n, i.e. the
    weighted gap between predicted and observed frequency. `classwise_ece` is their mean.
    """
    labels, prob_array = check_labels_and_probs(y_true, probs)
    num_samples = len(labels)
    per_class: dict[str, Any] = {}
    for k, name in enumerate(CLASS_NAMES):
        p = prob_array[:, k]
        index = _bin_index(p)
        counts = np.bincount(index, minlength=ECE_NUM_BINS).astype(np.float64)
        predicted = np.bincount(index, weights=p, minlength=ECE_NUM_BINS)
        observed = np.bincount(
            index, weights=(labels == k).astype(np.float64), minlength=ECE_NUM_BINS
        )
        per_class[name] = {
            "ece": float(np.abs(predicted - observed).sum() / num_samples),
            "mean_predicted": float(p.mean()),
            "observed": float((labels == k).mean()),
            "bins": _bins(counts, predicted, observed),
        }
    classwise = float(np.mean([per_class[name]["ece"] for name in CLASS_NAMES]))
    return {"classwise_ece": classwise, "per_class": per_class}


def plot_reliability(
    curves: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]], path: Path, title: str
) -> Path:
    """Write a 2×4 reliability diagram: top-label confidence, then each class one-vs-rest.

    `curves` maps a model name to (top_label_bins, class_calibration) of that model.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 4, figsize=(16, 8.5), constrained_layout=True)
    panels = [("top label (confidence vs accuracy)", None), *((n, n) for n in CLASS_NAMES)]
    assert len(panels) == axes.size == NUM_CLASSES + 1
    for axis, (panel_title, class_name) in zip(axes.flat, panels, strict=True):
        axis.plot([0, 1], [0, 1], color="0.6", linestyle=":", linewidth=1)
        upper = 0.0
        for model_name, (top_bins, calibration) in curves.items():
            if class_name is None:
                bins, label = top_bins, model_name
            else:
                entry = calibration["per_class"][class_name]
                bins, label = entry["bins"], f"{model_name} (ECE {entry['ece']:.4f})"
            x = [b["mean_predicted"] for b in bins]
            y = [b["observed"] for b in bins]
            sizes = [8 + 40 * np.sqrt(b["n"] / max(sum(c["n"] for c in bins), 1)) for b in bins]
            (line,) = axis.plot(x, y, linewidth=1.2, label=label)
            axis.scatter(x, y, s=sizes, alpha=0.6, color=line.get_color())
            upper = max(upper, *x, *y) if x else upper
        # Most class probabilities sit far below 1: zoom to where the points are.
        limit = 1.0 if class_name is None else min(1.0, max(0.05, upper * 1.1))
        axis.set_xlim(0, limit)
        axis.set_ylim(0, limit)
        axis.set_title(panel_title, fontsize=10)
        axis.set_xlabel("mean predicted probability", fontsize=8)
        axis.set_ylabel("observed frequency", fontsize=8)
        axis.legend(fontsize=7, loc="upper left")
    figure.suptitle(title, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
