"""Fixtures of the end-to-end tests (the harness itself is in service_harness.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from service_harness import PG_ADMIN, SHARED_REDIS, Service, archive_path

from api.settings import PROJECT_ROOT


def _postgres_database() -> tuple[str, str]:
    name = f"cricket_gnn_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def trainer_ready() -> None:
    """Skip (loudly) when train.py or the archive is missing: these tests train for real."""
    if not (PROJECT_ROOT / "train.py").is_file():
        pytest.skip("train.py is not in the repository root yet")
    if not archive_path().is_file():
        pytest.skip(f"training data not found at {archive_path()} (set CRICKET_GNN_DATA)")


@pytest.fixture
def make_service(tmp_path: Path, trainer_ready: None) -> Iterator[Callable[..., Service]]:
    """Builds services: ``make_service("postgres")`` (Redis broker) or ``("embedded")``."""
    started: list[Service] = []
    databases: list[str] = []

    def make(
        kind: str,
        *,
        broker_url: str | None = None,
        api: bool = True,
        env: dict[str, str] | None = None,
    ) -> Service:
        env = dict(env or {})
        if kind == "postgres":
            name, url = _postgres_database()
            databases.append(name)
            env["DATABASE_URL"] = url
            env["BROKER_URL"] = broker_url or SHARED_REDIS
            if env["BROKER_URL"] == SHARED_REDIS:
                redis.Redis.from_url(SHARED_REDIS).flushdb()
        else:
            env["DATABASE_URL"] = ""
            env["BROKER_URL"] = "filesystem://"
        service = Service(tmp_path / f"service{len(started)}", env)
        service.tmp_path.mkdir(parents=True)
        started.append(service)
        service.migrate()
        if api:
            service.start_api()
        return service

    try:
        yield make
    finally:
        for service in started:
            service.stop()
        for name in databases:
            _drop_database(name)
        if databases:
            redis.Redis.from_url(SHARED_REDIS).flushdb()
