"""Turn requests into innings states, predict with the served model, map errors to 422."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from api.errors import InvalidRequestError
from api.predict.schemas import (
    BatchPredictionRead,
    BatchPredictRequest,
    DeliveryIn,
    MatchContextIn,
    NextBallIn,
    PredictionRead,
    PredictRequest,
)
from api.predict.server import ModelServer
from cricket_gnn.inference.state import (
    CompactState,
    InningsState,
    InvalidInningsState,
    MatchContext,
    NextBall,
    Prediction,
)


@contextmanager
def impossible_states_are_422(prefix: str = "") -> Iterator[None]:
    """InvalidInningsState from the library -> 422 naming the field and the reason."""
    try:
        yield
    except InvalidInningsState as exc:
        field = f"{prefix}{exc.field}"
        raise InvalidRequestError(
            f"Impossible innings state: {field}: {exc.reason}",
            hint="Fix the named field; deliveries must be a possible T20 innings.",
            errors=[{"field": field, "message": exc.reason, "type": "impossible_state"}],
        ) from None


def context_of(context: MatchContextIn) -> MatchContext:
    return MatchContext(**context.model_dump())


def next_ball_of(next_ball: NextBallIn) -> NextBall:
    return NextBall(**next_ball.model_dump())


def deliveries_of(deliveries: list[DeliveryIn]) -> list[dict[str, Any]]:
    """Validated deliveries are already the Cricsheet-style dicts the predictor reads."""
    return list(deliveries)  # type: ignore[arg-type]


def state_of(request: PredictRequest) -> InningsState | CompactState:
    context, next_ball = context_of(request.context), next_ball_of(request.next_ball)
    if request.live is not None:
        return CompactState(context=context, next_ball=next_ball, **request.live.model_dump())
    return InningsState(
        context=context,
        deliveries=tuple(deliveries_of(request.deliveries or [])),
        next_ball=next_ball,
    )


def to_read(prediction: Prediction, version: int) -> PredictionRead:
    return PredictionRead(model_version=version, **prediction.as_dict())


def predict(server: ModelServer, request: PredictRequest) -> PredictionRead:
    served = server.served  # one reference for the whole request
    with impossible_states_are_422():
        prepared = served.predictor.prepare(state_of(request))
    # Checked in this thread; the forward pass may be shared with concurrent requests.
    return to_read(server.batcher.predict(served.predictor, prepared), served.version)


def predict_batch(server: ModelServer, request: BatchPredictRequest) -> BatchPredictionRead:
    served = server.served
    states = []
    for i, item in enumerate(request.items):
        with impossible_states_are_422(f"items.{i}."):
            states.append(state_of(item))
    with impossible_states_are_422("items."):
        predictions = served.predictor.predict_batch(states)
    return BatchPredictionRead(
        model_version=served.version, items=[to_read(p, served.version) for p in predictions]
    )
