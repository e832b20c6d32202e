"""The running totals of one innings, kept up to date delivery by delivery.

`features.running_totals` computes, for every row of whole innings at once, the sums,
windows and careers a row's context is made of. A live innings only ever needs them for
its pending ball, so `InningsTotals` folds the deliveries appended since its last use
into the same totals (O(1) per delivery, O(window) for the windowed sums) and hands the
pending row's totals to the same `features.features_from_totals`. Each delivery's
contribution comes from the same `features.row_values`, so the two paths share every
formula; tests check them equal on every prefix of real innings
(tests/inference/test_running_totals.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from cricket_gnn.data.career import CareerTable
from cricket_gnn.data.features import SINCE, WINDOWS, row_values
from cricket_gnn.inference.state import MatchContext

_LONGEST_WINDOW = max(size for _, size in WINDOWS)
# The importer columns `row_values` reads (is_legal is derived here).
_ROW_COLUMNS = (
    "runs_batter",
    "runs_extras",
    "runs_total",
    "wides",
    "noballs",
    "wicket_kind",
    "is_dismissal",
    "batter",
    "bowler",
)


class InningsTotals:
    """`features.running_totals` of the pending row after the deliveries folded in so far.

    Per-player and per-over sums are Python floats: every summand is a whole number, so
    any order of addition gives the vectorised path's float64 values exactly.
    """

    def __init__(self) -> None:
        self.length = 0
        self.legal_balls = 0
        self.score = self.wickets = self.extras = 0.0
        self.partnership = [0.0, 0.0]  # runs, legal balls since the last dismissal
        self.batters: dict[int, list[float]] = {}
        self.bowlers: dict[int, list[float]] = {}
        self.bowler_overs: dict[tuple[int, int], list[float]] = {}
        self._last_event = {event: -1 for event, _ in SINCE}
        self._window_sums = {f"{value}_last_{size}": 0.0 for value, size in WINDOWS}

    def catch_up(self, data: Mapping[str, np.ndarray], length: int) -> None:
        """Fold rows [self.length, length) of an innings' importer columns into the totals:
        one vectorised `row_values` per call, then a few additions per row."""
        start = self.length
        if length <= start:
            return
        # The new rows, and enough earlier ones for the longest window.
        first = max(0, min(start, length - _LONGEST_WINDOW))
        recent = {name: data[name][first:length] for name in _ROW_COLUMNS}
        recent["is_legal"] = (recent["wides"] == 0) & (recent["noballs"] == 0)
        values = row_values(recent)
        for value, size in WINDOWS:
            self._window_sums[f"{value}_last_{size}"] = float(values[value][-size:].sum())
        new = slice(start - first, None)
        rows = {name: column[new] for name, column in recent.items()}
        v = {name: column[new] for name, column in values.items()}
        for event, _ in SINCE:
            hits = np.flatnonzero(v[event] > 0)
            if hits.size:
                self._last_event[event] = start + int(hits[-1])
        legal = rows["is_legal"].tolist()
        batters, bowlers = rows["batter"].tolist(), rows["bowler"].tolist()
        batter_stats, bowler_stats = v["batter_stats"].tolist(), v["bowler_stats"].tolist()
        runs_and_legal, out = v["runs_and_legal"].tolist(), v["out"].tolist()
        for j in range(length - start):
            runs, is_legal = runs_and_legal[j]
            _add(self.batters, batters[j], batter_stats[j])
            _add(self.bowlers, bowlers[j], bowler_stats[j])
            # The in-over totals are (legal balls, runs) of this bowler in this over.
            _add(self.bowler_overs, (bowlers[j], self.legal_balls // 6), [is_legal, runs])
            self.partnership = [self.partnership[0] + runs, self.partnership[1] + is_legal]
            if out[j] > 0:
                self.wickets += out[j]
                self.partnership = [0.0, 0.0]  # the next row starts a new partnership
            self.legal_balls += int(legal[j])
        self.score += float(v["runs_total"].sum())
        self.extras += float(v["extras"].sum())
        self.length = length

    def pending(
        self,
        striker: int,
        non_striker: int,
        bowler: int,
        context: MatchContext,
        match_index: int,
        batting: CareerTable,
        bowling: CareerTable,
    ) -> dict[str, np.ndarray]:
        """The pending row's totals (each [1] or [1, k]), as `running_totals` gives them,
        after the deliveries folded in by `catch_up`."""
        n, balls = self.length, self.legal_balls
        match = np.array([match_index], dtype=np.int64)

        def one(value: float | np.ndarray, dtype: Any = np.float64) -> np.ndarray:
            return np.asarray(value, dtype=dtype).reshape(1, -1).squeeze(-1)

        t = {
            "innings": one(context.innings, np.int8),
            "target_runs": one(context.target_runs, np.int16),
            "target_overs": one(context.target_overs, np.float32),
            "legal_ball_index": one(balls, np.int16),
            "legal_over": one(balls // 6, np.int8),
            "ball_in_over": one(balls % 6, np.int8),
            "score": one(self.score),
            "wickets": one(self.wickets),
            "extras": one(self.extras),
            "striker": np.array([self.batters.get(striker, [0.0] * 5)]),
            "nonstriker": np.array([self.batters.get(non_striker, [0.0] * 5)]),
            "bowler": np.array([self.bowlers.get(bowler, [0.0] * 4)]),
            "bowler_over": np.array([self.bowler_overs.get((bowler, balls // 6), [0.0] * 2)]),
            "partnership": np.array([self.partnership]),
            "striker_career": batting.before(np.array([striker]), match),
            "nonstriker_career": batting.before(np.array([non_striker]), match),
            "bowler_career": bowling.before(np.array([bowler]), match),
        }
        for name, total in self._window_sums.items():
            t[name] = one(total)
        for event, cap in SINCE:
            last = self._last_event[event]
            t[f"since_{event}"] = one(min(n - last if last >= 0 else n + 1, cap), np.int64)
        return t


def _add(sums: dict[Any, list[float]], key: Hashable, values: list[float]) -> None:
    current = sums.get(key)
    if current is None:
        sums[key] = list(values)
    else:
        for i, value in enumerate(values):
            current[i] += value
