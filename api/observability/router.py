"""``GET /metrics``: the app's registry in Prometheus text format (scope ``read``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.observability.metrics import ServiceMetrics

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Request latency per route, predictions per model version, runs by state, queue depth."""
    service_metrics: ServiceMetrics = request.app.state.metrics
    return Response(generate_latest(service_metrics.registry), media_type=CONTENT_TYPE_LATEST)


def count_predictions(request: Request, model_version: int, num_balls: int = 1) -> None:
    """Add ``num_balls`` predictions served by ``model_version`` to the app's counter."""
    service_metrics: ServiceMetrics = request.app.state.metrics
    service_metrics.count_predictions(model_version, num_balls)
