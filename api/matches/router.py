"""/v1/matches: live innings sessions that keep state between balls."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from api.deps import ModelServerDep
from api.matches import service
from api.matches.schemas import DeliveriesAppend, MatchCreate, MatchPrediction, MatchRead
from api.matches.store import MatchStore
from api.observability.router import count_predictions
from api.responses import json_of

router = APIRouter(prefix="/v1/matches", tags=["matches"])


async def get_match_store(request: Request) -> MatchStore:
    store: MatchStore = request.app.state.match_store
    return store


MatchStoreDep = Annotated[MatchStore, Depends(get_match_store)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MatchRead)
def start_match(payload: MatchCreate, server: ModelServerDep, store: MatchStoreDep) -> MatchRead:
    """Start a live innings (in this process's memory) with its context."""
    return service.start(server, store, payload)


@router.post("/{match_id}/deliveries", response_model=MatchRead)
def append_deliveries(
    match_id: str, payload: DeliveriesAppend, server: ModelServerDep, store: MatchStoreDep
) -> Response:
    """Append deliveries in order; all are refused if one is impossible."""
    return json_of(service.append(server, store, match_id, payload))


@router.get("/{match_id}/prediction", response_model=MatchPrediction)
def next_ball_prediction(
    match_id: str, server: ModelServerDep, store: MatchStoreDep, request: Request
) -> Response:
    """The next ball's outcome distribution, from the production model."""
    prediction = service.prediction(server, store, match_id)
    count_predictions(request, prediction.model_version)
    return json_of(prediction)
