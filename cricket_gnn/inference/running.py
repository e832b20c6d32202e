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

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
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

    def catch_up(
        self,
        data: Mapping[str, np.ndarray],
        length: int,
        all_values: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Fold rows [self.length, length) of an innings' importer columns into the totals:
        one vectorised `row_values` per call (or slices of `all_values`, the
        `row_values` of rows [0, >= length), for a walk over many prefixes), then a few
        additions per row."""
        start = self.length
        if length <= start:
            return
        # The new rows, and enough earlier ones for the longest window.
        first = max(0, min(start, length - _LONGEST_WINDOW))
        recent = {name: data[name][first:length] for name in ("batter", "bowler")}
        recent["is_legal"] = (data["wides"][first:length] == 0) & (
            data["noballs"][first:length] == 0
        )
        if all_values is None:
            read = {name: data[name][first:length] for name in _ROW_COLUMNS}
            values = row_values(read | {"is_legal": recent["is_legal"]})
        else:
            values = {name: column[first:length] for name, column in all_values.items()}
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
        row = self.row(striker, non_striker, bowler)
        return stack_rows([row], [context], match_index, batting, bowling)

    def row(self, striker: int, non_striker: int, bowler: int) -> PendingRow:
        """The totals of a pending ball with these actors that come from this innings
        alone (no careers, no match context), as plain Python values."""
        n, balls = self.length, self.legal_balls
        values: dict[str, Any] = {
            "legal_ball_index": balls,
            "score": self.score,
            "wickets": self.wickets,
            "extras": self.extras,
            "striker": self.batters.get(striker, _NO_BATTING),
            "nonstriker": self.batters.get(non_striker, _NO_BATTING),
            "bowler": self.bowlers.get(bowler, _NO_BOWLING),
            "bowler_over": self.bowler_overs.get((bowler, balls // 6), _NO_OVER),
            "partnership": self.partnership,
        }
        values.update(self._window_sums)
        for event, cap in SINCE:
            last = self._last_event[event]
            values[f"since_{event}"] = min(n - last if last >= 0 else n + 1, cap)
        # Lists are copied: later catch_up calls add to this innings' own lists in place.
        values = {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
        return PendingRow(striker, non_striker, bowler, values)


@dataclass(frozen=True)
class PendingRow:
    """One pending ball: its actors (history player indices) and its innings' totals."""

    striker: int
    non_striker: int
    bowler: int
    values: dict[str, Any]


def stack_rows(
    rows: Sequence[PendingRow],
    contexts: Sequence[MatchContext],
    match_index: int,
    batting: CareerTable,
    bowling: CareerTable,
) -> dict[str, np.ndarray]:
    """`features.running_totals` of many pending rows at once (each value [R] or [R, k]):
    the innings' totals stacked, the match context and the careers looked up together."""
    t: dict[str, np.ndarray] = {}
    for name in rows[0].values:
        column = [row.values[name] for row in rows]
        t[name] = np.array(column, dtype=np.int64 if name.startswith("since_") else np.float64)
    balls = t["legal_ball_index"].astype(np.int64)
    t["legal_ball_index"] = balls.astype(np.int16)
    t["legal_over"] = (balls // 6).astype(np.int8)
    t["ball_in_over"] = (balls % 6).astype(np.int8)
    t["innings"] = np.array([c.innings for c in contexts], dtype=np.int8)
    t["target_runs"] = np.array([c.target_runs for c in contexts], dtype=np.int16)
    t["target_overs"] = np.array([c.target_overs for c in contexts], dtype=np.float32)
    match = np.full(len(rows), match_index, dtype=np.int64)
    strikers = np.array([row.striker for row in rows], dtype=np.int64)
    non_strikers = np.array([row.non_striker for row in rows], dtype=np.int64)
    bowlers = np.array([row.bowler for row in rows], dtype=np.int64)
    t["striker_career"] = batting.before(strikers, match)
    t["nonstriker_career"] = batting.before(non_strikers, match)
    t["bowler_career"] = bowling.before(bowlers, match)
    return t


_NO_BATTING = [0.0] * 5
_NO_BOWLING = [0.0] * 4
_NO_OVER = [0.0] * 2


def _add(sums: dict[Any, list[float]], key: Hashable, values: list[float]) -> None:
    current = sums.get(key)
    if current is None:
        sums[key] = list(values)
    else:
        for i, value in enumerate(values):
            current[i] += value
