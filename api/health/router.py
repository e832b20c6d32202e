"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from api.broker import Broker
from api.db import SessionFactory
from api.errors import ServiceUnavailableError
from api.predict.server import ModelServer

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> dict[str, Any]:
    """Ready when the database answers and the broker is reachable; 503 says which is not.

    Also says whether this process has a production model loaded (which version, and
    what runs it): a service without one still trains, so it is reported, not a reason
    for 503.
    """
    factory: SessionFactory = request.app.state.session_factory
    broker: Broker = request.app.state.dispatcher.broker
    checks: dict[str, str] = {}
    problems: list[dict[str, str]] = []
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = "unreachable"
        problems.append(
            {
                "field": "database",
                "message": f"{type(exc).__name__}: {exc}"[:300],
                "type": "unreachable",
            }
        )
    try:
        broker.ping()
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = "unreachable"
        problems.append(
            {
                "field": "broker",
                "message": f"{type(exc).__name__}: {exc}"[:300],
                "type": "unreachable",
            }
        )
    if problems:
        raise ServiceUnavailableError(
            "Not ready: " + " and ".join(p["field"] for p in problems) + " unreachable.",
            hint="Check DATABASE_URL / BROKER_URL and that Postgres and Redis are running; "
            "queued runs are kept and published once the broker is back.",
            errors=problems,
        )
    server: ModelServer = request.app.state.model_server
    served = server.served_or_none()
    return {
        "status": "ready",
        "checks": checks,
        "model": {
            "production_loaded": served is not None,
            "version": None if served is None else served.version,
            # "pytorch" until the version's ONNX export is in (api.predict.server).
            "runtime": None if served is None else served.predictor.runtime,
        },
    }
