"""/v1/predict: the next ball's outcome distribution from the production model."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ModelServerDep
from api.observability.router import count_predictions
from api.predict import service
from api.predict.schemas import (
    BatchPredictionRead,
    BatchPredictRequest,
    PredictionRead,
    PredictRequest,
)
from api.responses import json_of

router = APIRouter(prefix="/v1/predict", tags=["predict"])


@router.post("", response_model=PredictionRead)
def predict(payload: PredictRequest, server: ModelServerDep, request: Request) -> Response:
    """Probabilities of dot, single, two, three, four, six, wicket for the next ball."""
    prediction = service.predict(server, payload)
    count_predictions(request, prediction.model_version)
    return json_of(prediction)


@router.post("/batch", response_model=BatchPredictionRead)
def predict_batch(
    payload: BatchPredictRequest, server: ModelServerDep, request: Request
) -> Response:
    """Many balls in one request and one forward pass."""
    predictions = service.predict_batch(server, payload)
    count_predictions(request, predictions.model_version, len(predictions.items))
    return json_of(predictions)
