"""Request-scoped dependencies: one request = one session = one transaction.

Those that neither block nor take long are `async def`: FastAPI runs a plain `def`
dependency in the threadpool, and each such hop cost ~0.5–1 ms a request on the 2-core
box. The session stays a plain `def` (it talks to the database).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy.orm import Session

from api.db.engine import SessionFactory, transaction
from api.maintenance.dispatcher import Dispatcher
from api.predict.server import ModelServer
from api.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the endpoint returns, roll back if it raised; then run after-commit hooks.

    Used with ``scope="function"`` so the commit happens before the response is sent:
    a client never sees 202 for a job that failed to commit.
    """
    factory: SessionFactory = request.app.state.session_factory
    with transaction(factory) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


async def get_model_server(request: Request) -> ModelServer:
    server: ModelServer = request.app.state.model_server
    server.refresh_if_due(request.app.state.session_factory)
    return server


async def get_actor(
    request: Request,
    actor: Annotated[
        str | None,
        Header(
            alias="X-Actor",
            max_length=200,
            description="Who is acting, recorded with alias moves next to the API key's "
            "name (the key is what is verified; this header is taken as given).",
        ),
    ] = None,
) -> str:
    """``key:<name>`` of the calling key, with X-Actor in front when one was sent."""
    principal = getattr(request.state, "principal", None)
    if principal is None:  # auth turned off
        return actor or "anonymous"
    return f"{actor} (key:{principal.name})" if actor else f"key:{principal.name}"


ModelServerDep = Annotated[ModelServer, Depends(get_model_server)]
ActorDep = Annotated[str, Depends(get_actor)]


def mark_submitted(response: Response, location: str, replayed: bool) -> None:
    """Headers of an accepted submission: where it lives, and whether a key replayed it."""
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = location
