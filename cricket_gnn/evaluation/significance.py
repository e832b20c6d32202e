"""Statistical comparison of configurations: per-seed t-tests and match-level bootstraps."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import stats

from cricket_gnn.evaluation.inputs import check_labels_and_probs, clipped_log, to_numpy

MetricFn = Callable[[np.ndarray, np.ndarray], float]
# Resample-count matrices are drawn in blocks to bound memory at (block, num_groups).
_RESAMPLE_BLOCK = 256
# Differences whose spread is below this (relative to their size) count as constant.
_ZERO_SPREAD = 1e-12


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError("mean_sd needs a non-empty 1-D sequence of numbers")
    sd = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return float(array.mean()), sd


def format_mean_sd(mean: float, sd: float, digits: int = 4) -> str:
    """Format as "0.1234 ± 0.0012"."""
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def paired_t_test(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Paired t-test of a − b over seeds; p_value is None (with a note) when undefined."""
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(f"a and b must be 1-D and paired, got {first.shape} and {second.shape}")
    diffs = first - second
    num_pairs = len(diffs)
    result: dict[str, Any] = {
        "mean_diff": float(diffs.mean()) if num_pairs else None,
        "sd_diff": float(diffs.std(ddof=1)) if num_pairs > 1 else 0.0,
        "t": None,
        "p_value": None,
        "n": num_pairs,
        "note": None,
    }
    if num_pairs < 2:
        result["note"] = "a paired t-test needs at least 2 pairs (run more seeds)"
    elif result["sd_diff"] <= _ZERO_SPREAD * max(1.0, abs(result["mean_diff"])):
        # Equal differences (up to float rounding) leave t undefined or a rounding artefact.
        result["note"] = "the paired differences have zero variance; the t-test is undefined"
    else:
        test = stats.ttest_rel(first, second)
        result["t"] = float(test.statistic)
        result["p_value"] = float(test.pvalue)
    return result


def per_sample_log_loss(y_true: Any, probs: Any) -> np.ndarray:
    """Negative log-likelihood of each true class, clipped as sklearn's log_loss does."""
    labels, prob_array = check_labels_and_probs(y_true, probs)
    return -clipped_log(prob_array)[np.arange(len(labels)), labels]


def per_sample_brier(y_true: Any, probs: Any) -> np.ndarray:
    """Multiclass Brier score of each sample: sum over classes of (p − one-hot)²."""
    labels, prob_array = check_labels_and_probs(y_true, probs)
    one_hot = np.eye(prob_array.shape[1])[labels]
    return ((prob_array - one_hot) ** 2).sum(axis=1)


def paired_bootstrap(
    metric_fn: MetricFn,
    y_true: Any,
    probs_a: Any,
    probs_b: Any,
    groups: Any,
    num_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Bootstrap metric(a) − metric(b) over whole groups (matches) resampled with replacement.

    `metric_fn(y_true, probs) -> float` may be any metric; for a mean of per-sample losses
    use `paired_bootstrap_additive`, which gives the same answer much faster.
    """
    labels = to_numpy(y_true)
    first, second = to_numpy(probs_a), to_numpy(probs_b)
    if first.shape != second.shape or len(first) != len(labels):
        raise ValueError("y_true, probs_a and probs_b must have matching lengths and shapes")
    group_index, _ = _group_index(groups, len(labels))
    order = np.argsort(group_index, kind="stable")
    sizes = np.bincount(group_index)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    observed = float(metric_fn(labels, first) - metric_fn(labels, second))
    diffs = np.empty(num_resamples)
    row = 0
    for counts in _resample_counts(len(sizes), num_resamples, seed):
        for group_counts in counts:
            rows = order[_expand_groups(group_counts, starts, sizes)]
            diffs[row] = metric_fn(labels[rows], first[rows]) - metric_fn(
                labels[rows], second[rows]
            )
            row += 1
    return _summarise(observed, diffs, alpha)


def paired_bootstrap_additive(
    loss_a: Any,
    loss_b: Any,
    groups: Any,
    num_resamples: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Bootstrap mean(loss_a) − mean(loss_b) over resampled groups from per-group sums.

    For log loss or Brier pass `per_sample_log_loss` / `per_sample_brier` of each model;
    with the same seed this equals `paired_bootstrap` with the matching mean metric.
    """
    first = to_numpy(loss_a).astype(np.float64, copy=False)
    second = to_numpy(loss_b).astype(np.float64, copy=False)
    if first.ndim != 1 or first.shape != second.shape:
        raise ValueError(
            f"loss_a and loss_b must be 1-D and paired, got {first.shape}, {second.shape}"
        )
    group_index, num_groups = _group_index(groups, len(first))
    diff_sums = np.bincount(group_index, weights=first - second, minlength=num_groups)
    sizes = np.bincount(group_index, minlength=num_groups).astype(np.float64)

    observed = float(first.mean() - second.mean())
    blocks = [
        (counts @ diff_sums) / (counts @ sizes)
        for counts in _resample_counts(num_groups, num_resamples, seed)
    ]
    return _summarise(observed, np.concatenate(blocks), alpha)


def _group_index(groups: Any, num_samples: int) -> tuple[np.ndarray, int]:
    group_ids = to_numpy(groups)
    if group_ids.shape != (num_samples,):
        raise ValueError(f"groups must have shape ({num_samples},), got {group_ids.shape}")
    if num_samples == 0:
        raise ValueError("cannot bootstrap zero samples")
    _, index = np.unique(group_ids, return_inverse=True)
    return index.ravel(), int(index.max()) + 1


def _resample_counts(num_groups: int, num_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Yield blocks (b, num_groups) of how often each group is drawn in each resample."""
    if num_resamples < 1:
        raise ValueError(f"num_resamples must be at least 1, got {num_resamples}")
    rng = np.random.default_rng(seed)
    uniform = np.full(num_groups, 1.0 / num_groups)
    for start in range(0, num_resamples, _RESAMPLE_BLOCK):
        size = min(_RESAMPLE_BLOCK, num_resamples - start)
        yield rng.multinomial(num_groups, uniform, size=size).astype(np.float64)


def _expand_groups(counts: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Positions (in group-sorted order) of every sample of every drawn group copy."""
    drawn = np.repeat(np.arange(len(counts)), counts.astype(np.int64))
    lengths = sizes[drawn]
    block_starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts[drawn], lengths) + np.arange(lengths.sum()) - block_starts


def _summarise(observed: float, diffs: np.ndarray, alpha: float) -> dict[str, Any]:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    num_resamples = len(diffs)
    ci_low, ci_high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    # Two-sided p-value from how often the bootstrap difference lands on either side of 0;
    # the +1 keeps it from claiming p = 0 with finitely many resamples.
    tail = min(int((diffs <= 0).sum()), int((diffs >= 0).sum()))
    p_value = min(1.0, 2.0 * (tail + 1) / (num_resamples + 1))
    return {
        "diff": observed,
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": p_value,
        "significant": bool(ci_low > 0 or ci_high < 0),
        "num_resamples": num_resamples,
    }
