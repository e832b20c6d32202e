"""The FastAPI application: routers, error handlers, and the maintenance loop's lifetime.

Run with ``uvicorn --factory api.main:create_app`` (``python -m api serve`` does it).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.auth.dependencies import authorize
from api.auth.policy import resolve_route_scopes
from api.auth.principals import PrincipalCache
from api.auth.router import router as keys_router
from api.broker import Broker
from api.dashboard.router import mount_dashboard
from api.db import make_engine, make_session_factory
from api.errors import install_error_handlers
from api.health.router import router as health_router
from api.jobs.router import router as jobs_router
from api.maintenance.dispatcher import Dispatcher
from api.maintenance.loop import MaintenanceLoop
from api.matches.router import router as matches_router
from api.matches.store import MatchStore
from api.models.router import router as models_router
from api.observability.logs import configure_logging
from api.observability.metrics import ServiceMetrics
from api.observability.middleware import RequestContextMiddleware
from api.observability.router import router as metrics_router
from api.predict.loading import load_production, make_model_server
from api.predict.router import router as predict_router
from api.runs.router import router as runs_router
from api.settings import Settings, get_settings
from api.studies.router import router as studies_router
from api.sweeps.router import router as sweeps_router
from cricket_gnn.runtime import keep_freed_memory

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    keep_freed_memory()  # the predictor's forwards reuse their buffers (cricket_gnn.runtime)
    configure_logging(settings.log_format, settings.log_level)
    settings.ensure_local_dirs()
    engine = make_engine(settings.effective_database_url)
    session_factory = make_session_factory(engine)
    broker = Broker(settings)
    dispatcher = Dispatcher(broker, session_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.freeze_heap:
            gc.collect()  # what start-up left behind, before the rest is frozen
        load_production(app.state.model_server, app.state.session_factory)
        if settings.freeze_heap:
            gc.freeze()  # see Settings.freeze_heap
        loop = MaintenanceLoop(settings, session_factory, dispatcher)
        if settings.maintenance_enabled:
            loop.start()
        try:
            yield
        finally:
            if settings.maintenance_enabled:
                loop.stop()
            app.state.model_server.close()  # stops unfinished ONNX exports
            broker.close()
            engine.dispose()

    app = FastAPI(
        title="cricket-gnn training service",
        version="1.0.0",
        description="Submit, watch and manage training runs of the cricket ball-outcome GNNs.",
        lifespan=lifespan,
        # Every route's scope comes from one table (api/auth/policy.py), checked below.
        dependencies=[Depends(authorize)] if settings.auth_enabled else [],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.dispatcher = dispatcher
    app.state.model_server = make_model_server(settings)
    app.state.match_store = MatchStore()
    app.state.principal_cache = PrincipalCache(settings.auth_cache_s)
    app.state.metrics = ServiceMetrics(
        # Read at scrape time: tests swap the session factory after the app is built.
        session_factory=lambda: app.state.session_factory,
        served_version=lambda: app.state.model_server.version,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    for router in (
        health_router,
        metrics_router,
        keys_router,
        jobs_router,
        sweeps_router,
        runs_router,
        studies_router,
        models_router,
        predict_router,
        matches_router,
    ):
        app.include_router(router)
    mount_dashboard(app)
    # Refuses to build an app with a route whose scope nobody decided.
    app.state.route_scopes = resolve_route_scopes(app.routes)
    return app
