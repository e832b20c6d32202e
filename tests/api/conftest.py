"""API tests on the real Postgres and Redis: one migrated database per session, each test
inside a transaction that is rolled back, messages published to a private Redis db."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth.keys import create_api_key
from api.db import make_engine, transaction
from api.main import create_app
from api.maintenance.dispatcher import Dispatcher
from api.settings import PROJECT_ROOT, Settings

with warnings.catch_warnings():
    # Starlette asks for httpx2 (DESIGN §7); the plain httpx client works the same.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` (the real migrations, not create_all)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def create_database() -> tuple[str, str]:
    """A fresh Postgres database; returns (name, SQLAlchemy URL)."""
    name = f"cricket_gnn_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name, url = create_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="postgresql+psycopg://unused",  # replaced by the test's connection
        broker_url=REDIS_URL,
        var_dir=tmp_path / "var",
        artifact_root=tmp_path / "artifacts",
        maintenance_enabled=False,
        freeze_heap=False,
        max_attempts=3,
        # Threads of one test share its single connection: once a key has been checked,
        # its later requests must not need it again, and no background refresh of the
        # production alias may open a second session on it in the middle of a request.
        auth_cache_s=3600,
        model_refresh_s=0,
    )


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that the test never commits."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Commits inside the app become savepoint releases on the test's transaction.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def anonymous_client_for(settings: Settings, session_factory: sessionmaker[Session]) -> TestClient:
    """A client of a fresh app on the test's transaction that sends no API key."""
    app = create_app(settings)
    app.state.session_factory = session_factory
    app.state.dispatcher = Dispatcher(app.state.dispatcher.broker, session_factory)
    return TestClient(app, raise_server_exceptions=True)


def make_key(session_factory: sessionmaker[Session], *scopes: str, name: str = "test") -> str:
    """A new API key with ``scopes`` in the test's transaction; returns its plaintext."""
    with transaction(session_factory) as session:
        plaintext, _ = create_api_key(session, name=name, scopes=list(scopes))
    return plaintext


def client_for(settings: Settings, session_factory: sessionmaker[Session]) -> TestClient:
    """A client that sends an admin key (every route accepts it) on each request."""
    test_client = anonymous_client_for(settings, session_factory)
    test_client.headers["Authorization"] = "Bearer " + make_key(
        session_factory, "admin", name="test-admin"
    )
    return test_client


@pytest.fixture
def make_client(
    session_factory: sessionmaker[Session],
) -> Callable[[Settings], TestClient]:
    """A client of an app built from other settings, sharing the test's transaction."""
    return lambda settings: client_for(settings, session_factory)


@pytest.fixture
def client(
    settings: Settings, session_factory: sessionmaker[Session], redis_client: redis.Redis
) -> Iterator[TestClient]:
    with client_for(settings, session_factory) as test_client:
        yield test_client


@pytest.fixture
def anonymous_client(
    settings: Settings, session_factory: sessionmaker[Session], redis_client: redis.Redis
) -> Iterator[TestClient]:
    """A client that sends no key (for auth tests: headers are added per request)."""
    with anonymous_client_for(settings, session_factory) as test_client:
        yield test_client


@pytest.fixture
def api_key(session_factory: sessionmaker[Session]) -> Callable[..., str]:
    """``api_key("read", "train", name=...)``: a new key in the test's transaction."""
    return lambda *scopes, name="test": make_key(session_factory, *scopes, name=name)


@pytest.fixture
def queued_messages(redis_client: redis.Redis) -> Callable[[], list[dict[str, Any]]]:
    """Reads the Celery messages waiting in the training queue (all priority lists)."""

    def read() -> list[dict[str, Any]]:
        messages = []
        for key in redis_client.scan_iter(match=b"training*"):
            if redis_client.type(key) == b"list":
                for raw in redis_client.lrange(key, 0, -1):
                    messages.append(json.loads(raw))
        return messages

    return read


TINY_JOB: dict[str, Any] = {
    "model": "base",
    "hidden_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "batch_size": 256,
    "epochs": 2,
    "data_fraction": 0.02,
    "seeds": [42, 123],
}


@pytest.fixture
def tiny_job() -> dict[str, Any]:
    """A valid job body, small enough to train in seconds."""
    return dict(TINY_JOB)


# Served-model fixtures shared by the registry and predict tests; model_fixtures is
# imported inside them so the other API tests don't pay for it.
@pytest.fixture(scope="session")
def history_table(tmp_path_factory):
    from model_fixtures import make_history

    return make_history(tmp_path_factory)


@pytest.fixture(scope="session")
def checkpoint_files(history_table, tmp_path_factory):
    from model_fixtures import make_checkpoints

    return make_checkpoints(history_table, tmp_path_factory)


@pytest.fixture
def served_client(client, settings, history_table):
    from model_fixtures import model_server_for

    client.app.state.model_server = model_server_for(settings, history_table)
    return client
