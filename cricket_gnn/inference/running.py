"""The running totals of one innings, kept up to date delivery by delivery.

`features.running_totals` computes, for every row of whole innings at once, the sums,
windows and careers a row's context is made of. A live innings only ever needs them for
its pending ball, so `InningsTotals` adds each appended delivery to the same totals
(O(1) per delivery, O(window) for the windowed sums) and hands the pending row's totals
to the same `features.features_from_totals`. Each delivery's contribution comes from
the same `features.row_values`, so the two paths share every formula; tests check them
equal on every prefix of real innings (tests/inference/test_running_totals.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cricket_gnn.data.career import CareerTable
from cricket_gnn.data.features import SINCE, WINDOWS, row_values
from cricket_gnn.inference.state import MatchContext

_ZEROS = {
    "batter_stats": np.zeros(5),
    "bowler_stats": np.zeros(4),
    "runs_and_legal": np.zeros(2),
}


class InningsTotals:
    """`features.running_totals` of the pending row after the deliveries added so far."""

    def __init__(self, capacity: int = 160) -> None:
        self.length = 0
        self.legal_balls = 0
        self.score = self.wickets = self.extras = 0.0
        self.partnership = np.zeros(2)  # runs, legal balls since the last dismissal
        self.batters: dict[int, np.ndarray] = {}
        self.bowlers: dict[int, np.ndarray] = {}
        self.bowler_overs: dict[tuple[int, int], np.ndarray] = {}
        self._last_event = {event: -1 for event, _ in SINCE}
        self._windowed = {value: np.zeros(capacity) for value in {v for v, _ in WINDOWS}}

    def add(self, row: dict[str, Any]) -> None:
        """Add one delivery: `row` maps each importer column to its value (batter,
        bowler as player indices)."""
        legal = row["wides"] == 0 and row["noballs"] == 0
        columns = {name: np.array([value]) for name, value in row.items()}
        columns["is_legal"] = np.array([legal])
        v = {name: values[0] for name, values in row_values(columns).items()}
        i = self.length
        for value, buffer in self._windowed.items():
            if i == len(buffer):
                self._windowed[value] = buffer = np.concatenate([buffer, np.zeros_like(buffer)])
            buffer[i] = v[value]
        for event, _ in SINCE:
            if v[event] > 0:
                self._last_event[event] = i
        batter, bowler = int(row["batter"]), int(row["bowler"])
        self.batters[batter] = self.batters.get(batter, _ZEROS["batter_stats"]) + v["batter_stats"]
        self.bowlers[bowler] = self.bowlers.get(bowler, _ZEROS["bowler_stats"]) + v["bowler_stats"]
        over = (bowler, self.legal_balls // 6)
        # The in-over totals are (legal balls, runs), the partnership's (runs, legal balls).
        in_over = v["runs_and_legal"][::-1]
        self.bowler_overs[over] = self.bowler_overs.get(over, _ZEROS["runs_and_legal"]) + in_over
        self.partnership = self.partnership + v["runs_and_legal"]
        self.score += v["runs_total"]
        self.extras += v["extras"]
        if v["out"] > 0:
            self.wickets += v["out"]
            self.partnership = np.zeros(2)  # the next row starts a new partnership
        self.legal_balls += int(legal)
        self.length += 1

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
        """The pending row's totals (each [1] or [1, k]), as `running_totals` gives them."""
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
            "striker": self.batters.get(striker, _ZEROS["batter_stats"])[None, :],
            "nonstriker": self.batters.get(non_striker, _ZEROS["batter_stats"])[None, :],
            "bowler": self.bowlers.get(bowler, _ZEROS["bowler_stats"])[None, :],
            "bowler_over": self.bowler_overs.get((bowler, balls // 6), _ZEROS["runs_and_legal"])[
                None, :
            ],
            "partnership": self.partnership[None, :],
            "striker_career": batting.before(np.array([striker]), match),
            "nonstriker_career": batting.before(np.array([non_striker]), match),
            "bowler_career": bowling.before(np.array([bowler]), match),
        }
        for value, size in WINDOWS:
            t[f"{value}_last_{size}"] = one(self._windowed[value][max(n - size, 0) : n].sum())
        for event, cap in SINCE:
            last = self._last_event[event]
            t[f"since_{event}"] = one(min(n - last if last >= 0 else n + 1, cap), np.int64)
        return t
