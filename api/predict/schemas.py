"""Request and response bodies of /v1/predict and /v1/matches.

Players are Cricsheet registry ids (the stable identity careers and vocabularies are
keyed by); an id the service has never seen is not an error, it takes the cold-start
path and is listed in the response's `cold_start`.
"""

from __future__ import annotations

from typing import Annotated, NotRequired, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from cricket_gnn.data.schema import CLASS_NAMES

PlayerId = str
_Name = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MatchContextIn(Strict):
    venue: str = _Name
    batting_team: str = _Name
    bowling_team: str = _Name
    innings: int = Field(1, ge=1, le=2, description="1 or 2.")
    target_runs: int = Field(0, ge=0, le=500, description="Second innings: runs to win + 0.")
    target_overs: float = Field(0.0, ge=0, le=20)

    @model_validator(mode="after")
    def _teams_differ(self) -> Self:
        if self.batting_team == self.bowling_team:
            raise ValueError("bowling_team must differ from batting_team")
        return self


class NextBallIn(Strict):
    striker: PlayerId = _Name
    non_striker: PlayerId = _Name
    bowler: PlayerId = _Name

    @model_validator(mode="after")
    def _two_batters(self) -> Self:
        if self.striker == self.non_striker:
            raise ValueError("striker and non_striker must be different players")
        return self


# Deliveries are TypedDicts, not models: a batch request carries thousands, and
# validating into dicts (which the predictor reads as they are) is much cheaper than
# validating models and dumping them back to dicts (bench/predict.py's 256-state batch,
# 14,400 deliveries: 37 ms against 284 + 31 ms). One AfterValidator each keeps the
# cross-field checks.
_Count = Annotated[int, Field(ge=0, le=12)]
_Forbid = ConfigDict(extra="forbid")


@with_config(_Forbid)
class RunsIn(TypedDict):
    batter: _Count
    extras: NotRequired[_Count]
    total: _Count


def _total_adds_up(runs: RunsIn) -> RunsIn:
    runs.setdefault("extras", 0)
    if runs["total"] != runs["batter"] + runs["extras"]:
        raise ValueError(
            f"total {runs['total']} != batter {runs['batter']} + extras {runs['extras']}"
        )
    return runs


@with_config(_Forbid)
class ExtrasIn(TypedDict, total=False):
    """Cricsheet's extras kinds; any other kind is refused (extra fields are forbidden)."""

    wides: _Count
    noballs: _Count
    byes: _Count
    legbyes: _Count
    penalty: _Count


@with_config(_Forbid)
class WicketIn(TypedDict):
    kind: Annotated[str, Field(min_length=1, max_length=50)]
    player_out: Annotated[PlayerId, _Name]


@with_config(_Forbid)
class DeliveryFields(TypedDict):
    """One Cricsheet delivery plus its 0-indexed over (a T20 innings has overs 0..19)."""

    over: Annotated[int, Field(ge=0, le=19)]
    batter: Annotated[PlayerId, _Name]
    non_striker: Annotated[PlayerId, _Name]
    bowler: Annotated[PlayerId, _Name]
    runs: Annotated[RunsIn, AfterValidator(_total_adds_up)]
    extras: NotRequired[ExtrasIn | None]
    wickets: NotRequired[Annotated[list[WicketIn], Field(max_length=2)]]


def _two_batters(delivery: DeliveryFields) -> DeliveryFields:
    if delivery["batter"] == delivery["non_striker"]:
        raise ValueError("batter and non_striker must be different players")
    return delivery


DeliveryIn = Annotated[DeliveryFields, AfterValidator(_two_batters)]


class LiveScoreIn(Strict):
    """Compact live form: the scoreboard without ball history."""

    runs: int = Field(ge=0, le=500)
    wickets: int
    over: int = Field(description="Completed legal overs, 0..19.")
    ball: int = Field(0, description="Legal balls bowled in the current over, 0..5.")

    @field_validator("wickets")
    @classmethod
    def _wickets(cls, wickets: int) -> int:
        if not 0 <= wickets <= 9:
            raise ValueError(
                f"wickets must be 0..9 while a ball is still to come (got {wickets}; "
                "10 wickets ends the innings)"
            )
        return wickets

    @field_validator("over")
    @classmethod
    def _over(cls, over: int) -> int:
        if not 0 <= over <= 19:
            raise ValueError(f"over must be 0..19 completed overs in a T20 innings (got {over})")
        return over

    @field_validator("ball")
    @classmethod
    def _ball(cls, ball: int) -> int:
        if not 0 <= ball <= 5:
            raise ValueError(f"ball must be 0..5 legal balls into the over (got {ball})")
        return ball


class PredictRequest(Strict):
    """One ball: the innings so far as deliveries, or the compact live scoreboard."""

    context: MatchContextIn
    next_ball: NextBallIn
    deliveries: list[DeliveryIn] | None = Field(None, max_length=400)
    live: LiveScoreIn | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        if self.deliveries is not None and self.live is not None:
            raise ValueError("send either 'deliveries' (full form) or 'live' (compact), not both")
        return self


class BatchPredictRequest(Strict):
    items: list[PredictRequest] = Field(min_length=1, max_length=2000)


class PredictionRead(BaseModel):
    model_version: int
    class_order: list[str] = Field(default=list(CLASS_NAMES))
    probabilities: dict[str, float]
    expected_runs: float = Field(description="Runs off the bat: sum p * (0,1,2,3,4,6,0).")
    most_likely: str
    cold_start: list[str] = Field(description="Of striker, non_striker, bowler, venue, teams.")


class BatchPredictionRead(BaseModel):
    model_version: int
    items: list[PredictionRead]
