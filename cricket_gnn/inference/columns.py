"""The deliveries-table columns of one innings prefix, built as the importer builds them.

Each delivery goes through the importer's own `parse_delivery`, and the derived columns
(legal ball index, over, labels) through `add_derived_columns`, so a live innings and an
imported one can never disagree about what a row means.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from cricket_gnn.data.cricsheet import DELIVERY_FIELDS, MalformedMatch, parse_delivery
from cricket_gnn.data.features import row_values
from cricket_gnn.data.table import add_derived_columns
from cricket_gnn.inference.running import InningsTotals
from cricket_gnn.inference.state import InvalidInningsState, MatchContext, NextBall

PLAYER_FIELDS = ("batter", "non_striker", "bowler", "player_out")
# The importer's dtype of every per-delivery column (table.build_table).
_DTYPES: dict[str, Any] = {
    "over": np.int8,
    "runs_batter": np.int16,
    "runs_extras": np.int16,
    "runs_total": np.int16,
    "wides": np.int8,
    "noballs": np.int8,
    "byes": np.int8,
    "legbyes": np.int8,
    "penalty": np.int8,
    "wicket_kind": np.int8,
    "is_dismissal": bool,
    **{name: np.int32 for name in PLAYER_FIELDS},
}
_MAX_WICKETS = 10


class PlayerIndex:
    """Registry id -> row index of the history's player list; unknown ids get fresh indices.

    Unknown players get indices past the history's, private to one innings, so they have
    zero careers and never collide with each other or with a known player.
    """

    def __init__(self, known: Mapping[str, int], num_known: int) -> None:
        self._known = known
        self._extra: dict[str, int] = {}
        self._num_known = num_known

    def unknown(self) -> dict[int, str]:
        """Index -> registry id of the players this innings met that history lacks."""
        return {index: pid for pid, index in self._extra.items()}

    def __call__(self, player_id: str) -> int:
        if player_id == "":
            return -1
        index = self._known.get(player_id)
        if index is None:
            index = self._extra.setdefault(player_id, self._num_known + len(self._extra))
        return index


class InningsColumns:
    """Growable per-delivery columns of one innings; an append is amortised O(1)."""

    def __init__(self, players: PlayerIndex, capacity: int = 160) -> None:
        self.players = players
        self.length = 0
        self.wickets = 0
        self.runs = 0
        self._wickets_after = [0]  # wickets fallen after the first i deliveries
        self._last_actors = ("", "", "")
        self._data = {name: np.zeros(capacity, dtype=dtype) for name, dtype in _DTYPES.items()}
        self._totals = InningsTotals()  # folded in lazily: running_totals()

    def append(self, delivery: Any, position: str) -> None:
        """Parse one Cricsheet delivery (with its 'over') and add it; errors name `position`."""
        if self.wickets >= _MAX_WICKETS:
            raise InvalidInningsState(position, "a delivery after all out (10 wickets fell)")
        if not isinstance(delivery, dict) or "over" not in delivery:
            raise InvalidInningsState(position, "each delivery needs its 'over' number")
        over = delivery["over"]
        if isinstance(over, bool) or not isinstance(over, int) or not 0 <= over <= 49:
            raise InvalidInningsState(f"{position}.over", f"must be an integer 0..49, got {over}")
        try:
            row = parse_delivery(delivery, position, lambda player, _field: str(player))
        except MalformedMatch as exc:
            raise InvalidInningsState(position, str(exc)) from exc
        if len(self._data["over"]) == self.length:
            for name, values in self._data.items():
                self._data[name] = np.concatenate([values, np.zeros_like(values)])
        i = self.length
        self._data["over"][i] = over
        for name in DELIVERY_FIELDS:
            value = row[name]
            self._data[name][i] = self.players(value) if name in PLAYER_FIELDS else value
        self.length += 1
        self._last_actors = (str(row["batter"]), str(row["non_striker"]), str(row["bowler"]))
        self.wickets += row["dismissals"]
        self._wickets_after.append(self.wickets)
        self.runs += row["runs_total"]

    def running_totals(self) -> InningsTotals:
        """The running totals after every delivery so far (their `pending` gives the next
        ball's `features.running_totals`)."""
        self._totals.catch_up(self._data, self.length)
        return self._totals

    def last_actors(self) -> NextBall:
        """Striker, non-striker and bowler of the latest delivery."""
        striker, non_striker, bowler = self._last_actors
        return NextBall(striker=striker, non_striker=non_striker, bowler=bowler)

    def walk_totals(self, lengths: Iterable[int]) -> Iterator[InningsTotals]:
        """The running totals after the first `length` deliveries, for each of `lengths`
        (ascending); one object, caught up in place between yields."""
        n = self.length
        read = {name: values[:n] for name, values in self._data.items()}
        all_values = row_values(read | {"is_legal": (read["wides"] == 0) & (read["noballs"] == 0)})
        totals = InningsTotals()
        for length in lengths:
            totals.catch_up(self._data, length, all_values)
            yield totals

    def check_open(self, length: int) -> None:
        """Raise unless a ball can still come after the first `length` deliveries."""
        if self._wickets_after[length] >= _MAX_WICKETS:
            raise InvalidInningsState("next_ball", "the innings is over: 10 wickets fell")

    def played(
        self, context: MatchContext, match_index: int, length: int | None = None
    ) -> dict[str, np.ndarray]:
        """Columns of the first `length` deliveries (default: all; no pending row), derived."""
        n = self.length if length is None else length
        assert 0 <= n <= self.length
        columns = {name: values[:n].copy() for name, values in self._data.items()}
        columns.update(context_columns(context, n, match_index))
        add_derived_columns(columns)
        return columns

    def key_columns(self) -> dict[str, np.ndarray]:
        """The columns the edge rules key on (innings_id, batter, bowler, legal_over,
        delivery_index) of the deliveries so far: `played`'s values, without the rest."""
        n = self.length
        legal = (self._data["wides"][:n] == 0) & (self._data["noballs"][:n] == 0)
        legal_before = np.cumsum(legal) - legal
        return {
            "innings_id": np.zeros(n, dtype=np.int32),
            "batter": self._data["batter"][:n],
            "bowler": self._data["bowler"][:n],
            "legal_over": (legal_before // 6).astype(np.int8),
            "delivery_index": np.arange(n, dtype=np.int16),
        }


def context_columns(context: MatchContext, n: int, match_index: int) -> dict[str, np.ndarray]:
    """Per-innings columns repeated over `n` rows; teams/venue only matter by vocabulary."""
    return {
        "match": np.full(n, match_index, dtype=np.int32),
        "innings": np.full(n, context.innings, dtype=np.int8),
        "super_over": np.zeros(n, dtype=bool),
        "venue": np.zeros(n, dtype=np.int32),
        "batting_team": np.zeros(n, dtype=np.int32),
        "bowling_team": np.ones(n, dtype=np.int32),
        "target_runs": np.full(n, context.target_runs, dtype=np.int16),
        "target_overs": np.full(n, context.target_overs, dtype=np.float32),
    }
