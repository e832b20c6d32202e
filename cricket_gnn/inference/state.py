"""What a caller tells the predictor about an innings, and what it answers.

Players are identified by their Cricsheet registry id (the stable identity the
vocabularies and career tables are keyed by); a string that is not a known registry id
is simply an unknown player and takes the cold-start path. Venues and teams are names,
normalised as the importer does ('Eden Gardens, Kolkata' is 'Eden Gardens').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cricket_gnn.data.schema import CLASS_NAMES, CLASS_RUNS

# Node types whose vocabulary id may be 0 (unseen in the checkpoint's training split).
COLD_START_SLOTS = ("striker", "non_striker", "bowler", "venue", "batting_team", "bowling_team")


class InvalidInningsState(ValueError):
    """An impossible innings state; `field` names the offending input."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class MatchContext:
    """The fixed facts of one innings: where, who bats, and the chase target if any."""

    venue: str
    batting_team: str
    bowling_team: str
    innings: int = 1  # 1 or 2
    target_runs: int = 0  # 0 in the first innings
    target_overs: float = 0.0

    def __post_init__(self) -> None:
        if self.innings not in (1, 2):
            raise InvalidInningsState("innings", f"must be 1 or 2, got {self.innings}")
        if self.target_runs < 0:
            raise InvalidInningsState("target_runs", f"must be >= 0, got {self.target_runs}")
        if self.batting_team == self.bowling_team:
            raise InvalidInningsState("bowling_team", "must differ from batting_team")


@dataclass(frozen=True, kw_only=True)
class NextBall:
    """Who is on strike, at the other end and bowling for the pending delivery."""

    striker: str
    non_striker: str
    bowler: str

    def __post_init__(self) -> None:
        if self.striker == self.non_striker:
            raise InvalidInningsState("non_striker", "the striker and non-striker must differ")


@dataclass(frozen=True, kw_only=True)
class InningsState:
    """Full form: the innings so far as Cricsheet deliveries, each with its 'over' number.

    A delivery is ``{"over": 0, "batter": id, "non_striker": id, "bowler": id,
    "runs": {"batter", "extras", "total"}, "extras": {...}, "wickets": [...]}`` — the
    Cricsheet shape, flattened out of its over so one list carries the innings.
    """

    context: MatchContext
    deliveries: tuple[dict[str, Any], ...] = ()
    next_ball: NextBall


@dataclass(frozen=True, kw_only=True)
class CompactState:
    """Live form without ball history: the scoreboard and the three players.

    It cannot know anything that needs past balls: there are no ball nodes; the
    per-player innings state, partnership, momentum, dot-pressure and extras-so-far
    features take their innings-start values. Score, wickets, balls faced, chase, phase,
    time-pressure and career features are exactly those of the full form.
    """

    context: MatchContext
    next_ball: NextBall
    runs: int
    wickets: int
    over: int  # completed legal overs
    ball: int  # legal balls completed in the current over, 0..5

    def __post_init__(self) -> None:
        if self.runs < 0:
            raise InvalidInningsState("runs", f"must be >= 0, got {self.runs}")
        if not 0 <= self.wickets <= 9:
            raise InvalidInningsState(
                "wickets", f"must be 0..9 for a ball still to come, got {self.wickets}"
            )
        if not 0 <= self.over <= 19:
            raise InvalidInningsState(
                "over", f"a T20 innings has overs 0..19 still to bowl, got {self.over}"
            )
        if not 0 <= self.ball <= 5:
            raise InvalidInningsState("ball", f"must be 0..5 within the over, got {self.ball}")

    @property
    def legal_balls(self) -> int:
        return self.over * 6 + self.ball


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """The outcome distribution of the next delivery, in CLASS_NAMES order."""

    probabilities: tuple[float, ...]
    logits: tuple[float, ...]
    cold_start: tuple[str, ...] = field(default=())

    @property
    def expected_runs(self) -> float:
        """Runs off the bat: sum of p * (0, 1, 2, 3, 4, 6, 0)."""
        return float(sum(p * r for p, r in zip(self.probabilities, CLASS_RUNS, strict=True)))

    @property
    def most_likely(self) -> str:
        best = max(range(len(self.probabilities)), key=self.probabilities.__getitem__)
        return CLASS_NAMES[best]

    def as_dict(self) -> dict[str, Any]:
        """Plain types for JSON."""
        return {
            "probabilities": dict(zip(CLASS_NAMES, self.probabilities, strict=True)),
            "expected_runs": self.expected_runs,
            "most_likely": self.most_likely,
            "cold_start": list(self.cold_start),
        }
