"""Live sessions: start an innings, append deliveries, predict the next ball."""

from __future__ import annotations

from api.matches.schemas import DeliveriesAppend, MatchCreate, MatchPrediction, MatchRead
from api.matches.store import MatchStore
from api.predict.schemas import NextBallIn
from api.predict.server import ModelServer
from api.predict.service import (
    context_of,
    deliveries_of,
    impossible_states_are_422,
    next_ball_of,
)
from cricket_gnn.inference.live import LiveInnings


def to_read(match_id: str, live: LiveInnings) -> MatchRead:
    actors = live.next_ball
    return MatchRead(
        match_id=match_id,
        num_deliveries=live.num_deliveries,
        runs=live.innings.runs,
        wickets=live.innings.wickets,
        next_ball=None if actors is None else NextBallIn(**actors.__dict__),
    )


def start(server: ModelServer, store: MatchStore, payload: MatchCreate) -> MatchRead:
    served = server.served
    live = LiveInnings(served.predictor, context_of(payload.context))
    with impossible_states_are_422():
        live.append(
            deliveries_of(payload.deliveries),
            None if payload.next_ball is None else next_ball_of(payload.next_ball),
        )
    live.advance(served.predictor)
    return to_read(store.add(live), live)


def append(
    server: ModelServer, store: MatchStore, match_id: str, payload: DeliveriesAppend
) -> MatchRead:
    live = store.get(match_id)
    with impossible_states_are_422():
        live.append(
            deliveries_of(payload.deliveries),
            None if payload.next_ball is None else next_ball_of(payload.next_ball),
        )
    # The new balls' model work is done now, so the next read only scores the pending ball.
    served = server.served_or_none()
    if served is not None and served.predictor.history is live.history:
        live.advance(served.predictor)
    return to_read(match_id, live)


def prediction(server: ModelServer, store: MatchStore, match_id: str) -> MatchPrediction:
    live = store.get(match_id)
    served = server.served
    with impossible_states_are_422():
        answer = live.predict(served.predictor)
    return MatchPrediction(
        match_id=match_id,
        num_deliveries=live.num_deliveries,
        model_version=served.version,
        **answer.as_dict(),
    )
