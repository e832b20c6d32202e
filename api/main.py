"""The FastAPI application: routers, error handlers, and the maintenance loop's lifetime.

Run with ``uvicorn --factory api.main:create_app`` (``python -m api serve`` does it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.broker import Broker
from api.db import make_engine, make_session_factory
from api.errors import install_error_handlers
from api.health.router import router as health_router
from api.jobs.router import router as jobs_router
from api.maintenance.dispatcher import Dispatcher
from api.maintenance.loop import MaintenanceLoop
from api.matches.router import router as matches_router
from api.matches.store import MatchStore
from api.models.router import router as models_router
from api.predict.loading import load_production, make_model_server
from api.predict.router import router as predict_router
from api.runs.router import router as runs_router
from api.settings import Settings, get_settings
from api.studies.router import router as studies_router
from api.sweeps.router import router as sweeps_router

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    settings.ensure_local_dirs()
    engine = make_engine(settings.effective_database_url)
    session_factory = make_session_factory(engine)
    broker = Broker(settings)
    dispatcher = Dispatcher(broker, session_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        load_production(app.state.model_server, app.state.session_factory)
        loop = MaintenanceLoop(settings, session_factory, dispatcher)
        if settings.maintenance_enabled:
            loop.start()
        try:
            yield
        finally:
            if settings.maintenance_enabled:
                loop.stop()
            broker.close()
            engine.dispose()

    app = FastAPI(
        title="cricket-gnn training service",
        version="1.0.0",
        description="Submit, watch and manage training runs of the cricket ball-outcome GNNs.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.dispatcher = dispatcher
    app.state.model_server = make_model_server(settings)
    app.state.match_store = MatchStore()
    install_error_handlers(app)
    for router in (
        health_router,
        jobs_router,
        sweeps_router,
        runs_router,
        studies_router,
        models_router,
        predict_router,
        matches_router,
    ):
        app.include_router(router)
    return app
