"""Additive metric statistics that distributed ranks sum with one all_reduce."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cricket_gnn.evaluation.confusion import (
    confusion_counts,
    ece_bin_stats,
    ece_from_bins,
    macro_f1_from_confusion,
    scores_from_confusion,
)
from cricket_gnn.evaluation.constants import (
    CLASS_NAMES,
    CLASS_RUNS,
    ECE_NUM_BINS,
    INNINGS,
    NUM_CLASSES,
    NUM_INNINGS,
    NUM_PHASES,
    PHASE_NAMES,
)
from cricket_gnn.evaluation.decision import predict_with_bias
from cricket_gnn.evaluation.inputs import (
    check_bias,
    check_innings,
    check_labels_and_probs,
    check_phase,
    check_runs,
    clipped_log,
)

# Every statistic is a sum over samples, so shards add up to the whole. The order here is
# the layout of the flat tensor; all ranks must run the same code version.
_FIELDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("confusion", (NUM_CLASSES, NUM_CLASSES)),
    ("phase_confusion", (NUM_PHASES, NUM_CLASSES, NUM_CLASSES)),
    ("innings_confusion", (NUM_INNINGS, NUM_CLASSES, NUM_CLASSES)),
    ("tuned_confusion", (NUM_CLASSES, NUM_CLASSES)),
    ("nll_sum", ()),
    ("phase_nll_sum", (NUM_PHASES,)),
    ("innings_nll_sum", (NUM_INNINGS,)),
    ("brier_sum", ()),
    ("ece_bins", (3, ECE_NUM_BINS)),
    ("abs_runs_error_sum", ()),
    ("prob_sum", (NUM_CLASSES,)),
)
_TUNED_KEYS = ("accuracy", "macro_f1", "weighted_f1", "wicket_recall", "boundary_precision")


class MetricAccumulator:
    """Sums the statistics behind `compute_metrics` so shards merge exactly.

    With `decision_bias` set (the same on every rank) it also counts the tuned predictions
    and `finalize` reports the `*_tuned` scores.
    """

    def __init__(self, decision_bias: Any | None = None) -> None:
        self.decision_bias = None if decision_bias is None else check_bias(decision_bias)
        self._stats = {name: np.zeros(shape) for name, shape in _FIELDS}

    @staticmethod
    def num_values() -> int:
        """Length of the flat tensor that `to_tensor` returns."""
        return sum(int(np.prod(shape)) for _, shape in _FIELDS)

    @property
    def num_samples(self) -> int:
        """Number of samples seen so far."""
        return int(round(self._stats["confusion"].sum()))

    def update(
        self, y_true: Any, probs: Any, phase: Any, innings: Any, runs: Any | None = None
    ) -> None:
        """Add one batch: labels (n,), probs (n, 7), phase ids 0..4, innings 1 or 2, runs (n,)."""
        labels, prob_array = check_labels_and_probs(y_true, probs)
        phase_ids = check_phase(phase, len(labels))
        innings_ids = check_innings(innings, len(labels))
        run_values = check_runs(runs, labels)
        predictions = prob_array.argmax(axis=1)
        nll = -clipped_log(prob_array)[np.arange(len(labels)), labels]
        stats = self._stats

        stats["confusion"] += confusion_counts(labels, predictions)
        for phase_id in range(NUM_PHASES):
            mask = phase_ids == phase_id
            stats["phase_confusion"][phase_id] += confusion_counts(labels[mask], predictions[mask])
        for index in range(NUM_INNINGS):
            mask = innings_ids == index
            stats["innings_confusion"][index] += confusion_counts(labels[mask], predictions[mask])
        if self.decision_bias is not None:
            tuned = predict_with_bias(prob_array, self.decision_bias)
            stats["tuned_confusion"] += confusion_counts(labels, tuned)

        stats["nll_sum"] += nll.sum()
        stats["phase_nll_sum"] += np.bincount(phase_ids, weights=nll, minlength=NUM_PHASES)
        stats["innings_nll_sum"] += np.bincount(innings_ids, weights=nll, minlength=NUM_INNINGS)
        one_hot = np.eye(NUM_CLASSES)[labels]
        stats["brier_sum"] += ((prob_array - one_hot) ** 2).sum()
        stats["ece_bins"] += ece_bin_stats(labels, prob_array)
        expected_runs = prob_array @ np.asarray(CLASS_RUNS, dtype=np.float64)
        stats["abs_runs_error_sum"] += np.abs(expected_runs - run_values).sum()
        stats["prob_sum"] += prob_array.sum(axis=0)

    def merge(self, other: MetricAccumulator) -> MetricAccumulator:
        """Add another accumulator's statistics into this one; return self."""
        for name, _ in _FIELDS:
            self._stats[name] += other._stats[name]
        return self

    def to_tensor(self) -> torch.Tensor:
        """All statistics as one flat float64 tensor, ready for `dist.all_reduce`."""
        flat = np.concatenate([self._stats[name].ravel() for name, _ in _FIELDS])
        return torch.from_numpy(flat)

    def from_tensor(self, flat: torch.Tensor) -> MetricAccumulator:
        """Replace the statistics with those in a flat tensor from `to_tensor`; return self."""
        values = flat.detach().cpu().to(torch.float64).numpy()
        if values.shape != (self.num_values(),):
            raise ValueError(f"expected a flat tensor of {self.num_values()} values")
        offset = 0
        for name, shape in _FIELDS:
            size = int(np.prod(shape))
            self._stats[name] = values[offset : offset + size].reshape(shape).copy()
            offset += size
        return self

    def all_reduce(self, device: torch.device | str | None = None) -> MetricAccumulator:
        """Sum the statistics over every rank of the default process group; return self.

        Call it once per evaluation: calling it again would add the totals again. A no-op
        when torch.distributed is not initialised. Use `device="cuda"` with NCCL.
        """
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            flat = self.to_tensor().to(device) if device is not None else self.to_tensor()
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            self.from_tensor(flat)
        return self

    def finalize(self) -> dict[str, Any]:
        """The metrics of `compute_metrics` (with phase and innings) from the summed counts."""
        num_samples = self.num_samples
        if num_samples == 0:
            raise ValueError("no samples were added; call update() before finalize()")
        stats = self._stats
        metrics: dict[str, Any] = {
            "n": num_samples,
            "log_loss": float(stats["nll_sum"] / num_samples),
            "brier": float(stats["brier_sum"] / num_samples),
            "ece": ece_from_bins(stats["ece_bins"]),
            **scores_from_confusion(stats["confusion"]),
            "expected_runs_mae": float(stats["abs_runs_error_sum"] / num_samples),
            "mean_predicted_distribution": {
                name: float(total / num_samples)
                for name, total in zip(CLASS_NAMES, stats["prob_sum"], strict=True)
            },
            "per_phase": {
                name: _group_metrics(stats["phase_confusion"][k], stats["phase_nll_sum"][k])
                for k, name in enumerate(PHASE_NAMES)
            },
            "per_innings": {
                str(number): _group_metrics(
                    stats["innings_confusion"][k], stats["innings_nll_sum"][k]
                )
                for k, number in enumerate(INNINGS)
            },
        }
        if self.decision_bias is not None:
            tuned = scores_from_confusion(stats["tuned_confusion"])
            metrics.update({f"{key}_tuned": tuned[key] for key in _TUNED_KEYS})
        return metrics


def _group_metrics(confusion: np.ndarray, nll_sum: float) -> dict[str, Any]:
    num_samples = int(round(confusion.sum()))
    if num_samples == 0:
        return {"n": 0, "macro_f1": None, "log_loss": None, "accuracy": None}
    return {
        "n": num_samples,
        "macro_f1": float(macro_f1_from_confusion(confusion)),
        "log_loss": float(nll_sum / num_samples),
        "accuracy": float(np.trace(confusion) / num_samples),
    }
