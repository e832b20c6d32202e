"""Concurrent promotions on the real Postgres serialise: one production, a true history."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from conftest import create_database, drop_database, migrate
from sqlalchemy import Engine, func, select

from api.db import (
    AliasEvent,
    Job,
    ModelAlias,
    ModelAliasName,
    ModelVersion,
    Run,
    make_engine,
    make_session_factory,
    transaction,
)
from api.models import service


@pytest.fixture
def committed_engine() -> Iterator[Engine]:
    """A private database: these transactions really commit and really contend."""
    name, url = create_database()
    engine = make_engine(url)
    try:
        migrate(url)
        yield engine
    finally:
        engine.dispose()
        drop_database(name)


def _versions(engine: Engine, count: int) -> list[int]:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        job = Job(model="base", config={}, seeds=[0], run_name="r", request_hash="0" * 64)
        session.add(job)
        session.flush()
        run = Run(job_id=job.id, seed=0, model="base", run_name="r", config={}, config_hash="0")
        session.add(run)
        session.flush()
        rows = [
            ModelVersion(
                run_id=run.id,
                checkpoint_kind="best_loss",
                path=f"/artifacts/{i}.pt",
                sha256=f"{i:064d}",
                size_bytes=1,
                variant="base",
                config={},
                created_by="test",
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.version for row in rows]


def test_two_concurrent_first_promotions_and_many_later_ones_serialise(committed_engine):
    factory = make_session_factory(committed_engine)
    versions = _versions(committed_engine, 4)
    errors: list[BaseException] = []

    def promote(version: int, barrier: threading.Barrier) -> None:
        try:
            barrier.wait()
            with transaction(factory) as session:
                service.promote(session, version, ModelAliasName.PRODUCTION, actor=str(version))
        except BaseException as exc:  # reported below; a thread cannot fail the test
            errors.append(exc)

    for round_versions in [versions[:2]] + [versions[2:], versions[:2]] * 5:
        barrier = threading.Barrier(len(round_versions))
        threads = [threading.Thread(target=promote, args=(v, barrier)) for v in round_versions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []

    with factory() as session:
        aliases = session.scalars(select(ModelAlias)).all()
        assert [a.alias for a in aliases] == ["production"]
        events = session.scalars(select(AliasEvent).order_by(AliasEvent.id)).all()
        # Each move saw the version the previous committed move left: no lost update.
        assert events[0].from_version is None
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_version == before.to_version
        assert aliases[0].version == events[-1].to_version
        assert session.scalar(select(func.count()).select_from(AliasEvent)) == len(events) >= 11
