"""Fixtures of the fault tests: real uvicorn + Celery + Postgres + a private redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_harness import (
    FaultService,
    PrivateRedis,
    archive_path,
    create_database,
    drop_database,
)

from api.settings import PROJECT_ROOT

#: Timings that make a lost worker visible within seconds, not the production minute.
FAST_LIVENESS = {
    "CRICKET_GNN_HEARTBEAT_INTERVAL_S": "0.5",
    "CRICKET_GNN_HEARTBEAT_TIMEOUT_S": "3",
    "CRICKET_GNN_MAINTENANCE_INTERVAL_S": "0.5",
}


@pytest.fixture
def trainer_ready() -> None:
    """Skip (loudly) when train.py or the archive is missing: some fault tests train."""
    if not (PROJECT_ROOT / "train.py").is_file():
        pytest.skip("train.py is not in the repository root yet")
    if not archive_path().is_file():
        pytest.skip(f"training data not found at {archive_path()} (set CRICKET_GNN_DATA)")


@pytest.fixture
def make_fault_service(tmp_path: Path) -> Iterator[Callable[..., FaultService]]:
    """``make_fault_service(env=…, api=True)``: a migrated Postgres database, a private
    redis-server as broker, an authenticated client and (by default) the API running."""
    started: list[tuple[FaultService, PrivateRedis, str]] = []

    def make(*, env: dict[str, str] | None = None, api: bool = True) -> FaultService:
        folder = tmp_path / f"service{len(started)}"
        broker = PrivateRedis(folder / "redis")
        broker.start()
        name, url = create_database()
        env = FAST_LIVENESS | {"DATABASE_URL": url, "BROKER_URL": broker.url} | (env or {})
        service = FaultService(folder, env, database_url=url, broker=broker)
        started.append((service, broker, name))
        service.migrate()
        service.authorize()
        if api:
            service.start_api()
        return service

    try:
        yield make
    finally:
        for service, broker, name in started:
            service.stop()
            broker.stop()
            drop_database(name)
