"""The reaper and the dispatcher, against the real Postgres and Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db import Run, utcnow
from api.maintenance.service import reap_lost_runs


def _running_run(client: TestClient, db: Session, body: dict[str, Any], **values: Any) -> Run:
    run_id = client.post("/v1/jobs", json=body).json()["runs"][0]["id"]
    run = db.get_one(Run, run_id)
    run.status, run.worker = "running", "gone@host"
    for name, value in values.items():
        setattr(run, name, value)
    db.commit()
    return run


def test_lost_heartbeat_requeues_the_next_attempt(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    run = _running_run(client, db, tiny_job, heartbeat_at=utcnow() - timedelta(seconds=120))
    fresh = _running_run(client, db, tiny_job, heartbeat_at=utcnow())

    report = reap_lost_runs(db, heartbeat_timeout_s=60)
    db.commit()

    assert report.requeued == [run.id]
    db.refresh(run)
    db.refresh(fresh)
    assert (run.status, run.attempt, run.worker, run.dispatched_at) == ("queued", 2, None, None)
    assert "gone@host stopped sending heartbeats" in (run.status_reason or "")
    assert "resuming from the last checkpoint" in (run.status_reason or "")
    assert fresh.status == "running" and fresh.attempt == 1


def test_last_attempt_lost_fails_with_a_reason(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    stale = utcnow() - timedelta(seconds=120)
    run = _running_run(client, db, tiny_job, heartbeat_at=stale, attempt=3, attempt_limit=3)
    report = reap_lost_runs(db, heartbeat_timeout_s=60)
    db.commit()
    db.refresh(run)
    assert report.failed == [run.id]
    assert run.status == "failed" and "attempt 3 of 3" in (run.error or "")
    assert f"/v1/runs/{run.id}/retry" in (run.error or "")


def test_cancelling_run_whose_worker_died_becomes_cancelled(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    stale = utcnow() - timedelta(seconds=120)
    run = _running_run(client, db, tiny_job, heartbeat_at=stale, status="cancelling")
    assert reap_lost_runs(db, heartbeat_timeout_s=60).cancelled == [run.id]


def test_dispatcher_publishes_runs_the_broker_never_got(
    client: TestClient,
    db: Session,
    tiny_job: dict[str, Any],
    redis_client: Any,
    queued_messages: Callable[[], list[dict[str, Any]]],
) -> None:
    run_ids = [run["id"] for run in client.post("/v1/jobs", json=tiny_job).json()["runs"]]
    redis_client.flushdb()  # the messages were lost (e.g. Redis restarted without persistence)
    dispatcher = client.app.state.dispatcher  # type: ignore[attr-defined]

    assert dispatcher.dispatch_due(db) == 0  # published moments ago: not due yet
    for run_id in run_ids:
        db.get_one(Run, run_id).dispatched_at = None  # what a failed publish leaves
    db.commit()
    assert dispatcher.dispatch_due(db) == len(run_ids)
    db.commit()

    sent = {message["headers"]["id"] for message in queued_messages()}
    assert sent == {f"run-{run_id}-attempt-1" for run_id in run_ids}
    assert all(db.get_one(Run, run_id).dispatch_count == 2 for run_id in run_ids)
    assert dispatcher.dispatch_due(db) == 0  # and not again until the back-off expires
