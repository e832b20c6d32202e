"""/v1/predict: the next ball's outcome distribution from the production model."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ModelServerDep
from api.predict import service
from api.predict.schemas import (
    BatchPredictionRead,
    BatchPredictRequest,
    PredictionRead,
    PredictRequest,
)

router = APIRouter(prefix="/v1/predict", tags=["predict"])


@router.post("", response_model=PredictionRead)
def predict(payload: PredictRequest, server: ModelServerDep) -> PredictionRead:
    """Probabilities of dot, single, two, three, four, six, wicket for the next ball."""
    return service.predict(server, payload)


@router.post("/batch", response_model=BatchPredictionRead)
def predict_batch(payload: BatchPredictRequest, server: ModelServerDep) -> BatchPredictionRead:
    """Many balls in one request and one forward pass."""
    return service.predict_batch(server, payload)
