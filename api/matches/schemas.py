"""Request and response bodies of /v1/matches (live innings sessions)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.predict.schemas import DeliveryIn, MatchContextIn, NextBallIn, PredictionRead, Strict


class MatchCreate(Strict):
    """Start a live innings: its context, optionally the deliveries so far and next ball."""

    context: MatchContextIn
    deliveries: list[DeliveryIn] = Field(default_factory=list, max_length=400)
    next_ball: NextBallIn | None = None


class DeliveriesAppend(Strict):
    """New deliveries in order; `next_ball` names who faces next (default: the last
    delivery's striker, non-striker and bowler)."""

    deliveries: list[DeliveryIn] = Field(default_factory=list, max_length=400)
    next_ball: NextBallIn | None = None


class MatchRead(BaseModel):
    match_id: str
    num_deliveries: int
    runs: int
    wickets: int
    next_ball: NextBallIn | None


class MatchPrediction(PredictionRead):
    match_id: str
    num_deliveries: int
