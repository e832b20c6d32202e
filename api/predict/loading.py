"""Start-up: build the model server and serve whatever production points at."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from api.db import ModelAliasName, SessionFactory
from api.errors import AppError
from api.models import repository
from api.predict.server import ModelServer
from api.settings import Settings

if TYPE_CHECKING:
    from cricket_gnn.data.table import DeliveryTable

log = logging.getLogger(__name__)


def make_model_server(settings: Settings) -> ModelServer:
    def history() -> DeliveryTable:
        from cricket_gnn.data.archive import load_archive

        return load_archive(settings.data)

    return ModelServer(
        settings.artifact_root,
        history,
        refresh_s=settings.model_refresh_s,
        torch_threads=settings.predict_torch_threads,
        onnx_cache=settings.var_dir / "onnx" if settings.predict_backend == "onnx" else None,
        freeze_heap=settings.freeze_heap,
    )


def load_production(server: ModelServer, session_factory: SessionFactory) -> None:
    """Serve the production version; a bad file is logged and predict answers 503."""
    with session_factory() as session:
        version_id = repository.alias_version(session, ModelAliasName.PRODUCTION)
        version = None if version_id is None else repository.get_version(session, version_id)
    if version is None:
        log.info("no production model yet; /v1/predict answers 503 until one is promoted")
        return
    try:
        server.serve(version)
    except AppError as exc:
        log.error("production model version %d not loaded: %s", version.version, exc.message)
