"""A live innings: deliveries arrive one at a time and the next ball is predicted.

Cost per appended delivery: one `parse_delivery` and a write into growable numpy
columns (amortised O(1)); `advance` then does the new balls' O(1) work: it encodes them
against every layer's cached ball-node keys/values (ball nodes only hear earlier balls,
so those never change, inference.staged) and folds them into the innings' running
totals (inference.running). A prediction catches up on any balls not yet advanced, then
scores the pending ball alone: its context features come from the running totals, and
only its edges are still found over the innings' key columns (a sort of n <= ~130 rows). A
prediction is cached until the next append, so repeated reads of the same state cost
O(1); a promoted model rebuilds the ball states once, on its first prediction for the
session.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cricket_gnn.inference.columns import InningsColumns
from cricket_gnn.inference.state import InvalidInningsState, MatchContext, NextBall, Prediction

if TYPE_CHECKING:
    # Only for types: the API imports this module without paying for torch.
    from cricket_gnn.inference.predictor import Predictor
    from cricket_gnn.inference.staged import BallStates


class LiveInnings:
    """State of one innings in progress; predictions may come from any predictor sharing
    the history it was started with (a promoted model takes over a running session)."""

    def __init__(self, predictor: Predictor, context: MatchContext) -> None:
        self.history = predictor.history
        self.context = context
        self.innings = predictor.new_innings()
        self.next_ball: NextBall | None = None
        self._cached: tuple[Predictor, NextBall, Prediction] | None = None
        self._balls: tuple[Predictor, BallStates] | None = None  # one model's ball states
        self._lock = threading.Lock()

    @property
    def num_deliveries(self) -> int:
        return self.innings.length

    def append(self, deliveries: Iterable[Any], next_ball: NextBall | None = None) -> None:
        """Add Cricsheet deliveries (each with its 'over'); all or nothing on a bad one."""
        items = list(deliveries)
        with self._lock:
            start = self.innings.length
            # Validate the whole batch on a scratch copy of the state before touching it.
            probe = InningsColumns(self.innings.players)
            probe.wickets = self.innings.wickets
            for i, delivery in enumerate(items):
                probe.append(delivery, f"deliveries[{start + i}]")
            for i, delivery in enumerate(items):
                self.innings.append(delivery, f"deliveries[{start + i}]")
            if next_ball is not None:
                self.next_ball = next_ball
            elif items:
                # Without a named next ball, the latest delivery's actors are assumed.
                self.next_ball = self.innings.last_actors()
            self._cached = None

    def advance(self, predictor: Predictor) -> None:
        """Encode the balls appended since the last call for `predictor` (O(1) model work
        per ball), so that the next prediction only scores the pending ball."""
        if predictor.history is not self.history:
            raise ValueError("the predictor's history differs from this session's")
        with self._lock:
            balls = self._balls[1] if self._balls and self._balls[0] is predictor else None
            self._balls = (predictor, predictor.extend_balls(self.innings, self.context, balls))
            self.innings.running_totals()  # fold the new balls in now, not at the next read

    def predict(self, predictor: Predictor, next_ball: NextBall | None = None) -> Prediction:
        """The next ball's prediction (cached until the next append or model change)."""
        if predictor.history is not self.history:
            raise ValueError("the predictor's history differs from this session's")
        with self._lock:
            actors = next_ball or self.next_ball
            if actors is None:
                raise InvalidInningsState(
                    "next_ball", "no delivery yet: name the striker, non-striker and bowler"
                )
            cached = self._cached
            if cached is not None and cached[0] is predictor and cached[1] == actors:
                return cached[2]
            balls = self._balls[1] if self._balls and self._balls[0] is predictor else None
            prediction, balls = predictor.predict_innings(self.innings, self.context, actors, balls)
            self._balls = (predictor, balls)
            self._cached = (predictor, actors, prediction)
            return prediction
