"""Vectorised prefix sums within groups, the building block of every causal feature."""

from __future__ import annotations

import numpy as np


def group_starts(group: np.ndarray) -> np.ndarray:
    """For rows sorted so each group is contiguous: index of each row's group start."""
    n = group.shape[0]
    new = np.ones(n, dtype=bool)
    new[1:] = group[1:] != group[:-1]
    first = np.flatnonzero(new)
    return first[np.cumsum(new) - 1]


def exclusive_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sum of `values` over earlier rows of the same contiguous group (row itself excluded)."""
    values = values.astype(np.float64, copy=False)
    total = np.cumsum(values, axis=0) - values
    return total - total[group_starts(group)]


def exclusive_cumsum_by_key(values: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Like exclusive_cumsum, for groups (`key`) that are not contiguous; keeps row order."""
    order = np.argsort(key, kind="stable")
    out = np.empty(values.shape, dtype=np.float64)
    out[order] = exclusive_cumsum(values[order], key[order])
    return out


def window_sum(values: np.ndarray, group: np.ndarray, window: int) -> np.ndarray:
    """Sum of `values` over the previous `window` rows of the same contiguous group."""
    values = values.astype(np.float64, copy=False)
    starts = group_starts(group)
    prefix = np.concatenate([np.zeros((1,) + values.shape[1:]), np.cumsum(values, axis=0)])
    idx = np.arange(group.shape[0])
    lo = np.maximum(idx - window, starts)
    return prefix[idx] - prefix[lo]


def rows_since(event: np.ndarray, group: np.ndarray, cap: int) -> np.ndarray:
    """Rows since the last earlier row of the group where `event` was true, capped.

    With no such row, the innings start counts as the event (row 0 gets 1).
    """
    idx = np.arange(group.shape[0])
    starts = group_starts(group)
    last = np.where(event, idx, -1)
    last_before = np.maximum.accumulate(np.concatenate([[-1], last[:-1]]))
    since = np.where(last_before >= starts, idx - last_before, idx - starts + 1)
    return np.minimum(since, cap)


def previous_in_group(key: np.ndarray, position: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Edges (src, dst, gap) from each row to up to `k` earlier rows sharing its key.

    Rows are ordered by `position` inside a key; src precedes dst. O(n·k), no Python loop
    over rows.
    """
    order = np.lexsort((position, key))
    sorted_key = key[order]
    srcs, dsts, gaps = [], [], []
    for d in range(1, k + 1):
        same = sorted_key[d:] == sorted_key[:-d]
        dst = order[d:][same]
        src = order[:-d][same]
        srcs.append(src)
        dsts.append(dst)
        gaps.append(position[dst] - position[src])
    if not srcs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(srcs), np.concatenate(dsts), np.concatenate(gaps)
