"""Engines and sessions: one factory per process, tuned per dialect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker[Session]
_AFTER_COMMIT = "after_commit_hooks"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL + a busy timeout so API and worker can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
    return create_engine(url, **(options | kwargs))


def make_session_factory(engine: Engine) -> SessionFactory:
    # expire_on_commit=False: responses are built from objects after the commit.
    return sessionmaker(bind=engine, expire_on_commit=False)


def after_commit(session: Session, hook: Callable[[], None]) -> None:
    """Run ``hook`` once the request's transaction has committed (e.g. publish a task)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def run_after_commit_hooks(session: Session) -> None:
    hooks: list[Callable[[], None]] = session.info.pop(_AFTER_COMMIT, [])
    for hook in hooks:
        hook()


def discard_after_commit_hooks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A short unit of work outside a request: commit on success, roll back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            discard_after_commit_hooks(session)
            raise
    run_after_commit_hooks(session)
