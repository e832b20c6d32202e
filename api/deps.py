"""Request-scoped dependencies: one request = one session = one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.db.engine import SessionFactory, discard_after_commit_hooks, run_after_commit_hooks
from api.maintenance.dispatcher import Dispatcher
from api.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the endpoint returns, roll back if it raised; then run after-commit hooks.

    Used with ``scope="function"`` so the commit happens before the response is sent:
    a client never sees 202 for a job that failed to commit.
    """
    factory: SessionFactory = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            discard_after_commit_hooks(session)
            raise
    run_after_commit_hooks(session)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
