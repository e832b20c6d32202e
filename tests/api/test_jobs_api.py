"""Submitting jobs and sweeps: rows, messages on the real Redis, idempotency, 404s."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Run
from api.settings import Settings


def test_submit_creates_one_queued_run_per_seed_and_publishes_each(
    client: TestClient,
    db: Session,
    tiny_job: dict[str, Any],
    queued_messages: Callable[[], list[dict[str, Any]]],
) -> None:
    response = client.post("/v1/jobs", json={**tiny_job, "seeds": [42, 123, 456]})

    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert [run["seed"] for run in job["runs"]] == [42, 123, 456]
    assert job["config"]["weight_decay"] == 0.01  # defaults filled in and recorded
    runs = db.scalars(select(Run).where(Run.job_id == job["id"]).order_by(Run.id)).all()
    assert {run.status for run in runs} == {"queued"}
    assert len({run.config_hash for run in runs}) == 1  # seeds of one configuration group
    assert [run.config["seed"] for run in runs] == [42, 123, 456]
    assert all(run.dispatched_at is not None and run.attempt == 1 for run in runs)
    task_ids = sorted(message["headers"]["id"] for message in queued_messages())
    assert task_ids == sorted(f"run-{run.id}-attempt-1" for run in runs)
    assert {m["headers"]["task"] for m in queued_messages()} == {"cricket_gnn.train_run"}


def test_idempotency_key_returns_the_same_job(
    client: TestClient, tiny_job: dict[str, Any], queued_messages: Callable[[], list[Any]]
) -> None:
    headers = {"Idempotency-Key": "submit-7f3a"}
    first = client.post("/v1/jobs", json=tiny_job, headers=headers)
    again = client.post("/v1/jobs", json=tiny_job, headers=headers)

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["runs"] == first.json()["runs"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(queued_messages()) == len(tiny_job["seeds"])  # nothing published twice


def test_idempotency_key_reused_for_another_body_is_a_conflict(
    client: TestClient, tiny_job: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "submit-reused"}
    first = client.post("/v1/jobs", json=tiny_job, headers=headers).json()
    response = client.post("/v1/jobs", json={**tiny_job, "epochs": 9}, headers=headers)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert f"job {first['id']}" in body["message"] and "new Idempotency-Key" in body["hint"]


def test_read_job_reports_its_runs(client: TestClient, tiny_job: dict[str, Any]) -> None:
    job = client.post("/v1/jobs", json=tiny_job).json()
    read = client.get(f"/v1/jobs/{job['id']}")
    assert read.status_code == 200
    assert read.json()["runs"] == job["runs"]


def test_sweep_expands_grid_times_seeds(
    client: TestClient, queued_messages: Callable[[], list[Any]]
) -> None:
    body = {
        "name": "width",
        "base": {"model": "hybrid", "epochs": 3, "num_heads": 2},
        "grid": {"hidden_dim": [64, 128, 256]},
        "seeds": [42, 123, 456],
    }
    response = client.post("/v1/sweeps", json=body)

    assert response.status_code == 202, response.text
    sweep = response.json()
    assert sweep["run_count"] == 9
    assert [point["grid_point"] for point in sweep["points"]] == [
        {"hidden_dim": 64},
        {"hidden_dim": 128},
        {"hidden_dim": 256},
    ]
    assert len(queued_messages()) == 9
    listed = client.get(f"/v1/runs?sweep_id={sweep['id']}&limit=100").json()
    assert listed["total"] == 9
    assert {run["model"] for run in listed["items"]} == {"hybrid"}
    again = client.get(f"/v1/sweeps/{sweep['id']}").json()
    assert again["points"] == sweep["points"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/jobs/424242"),
        ("get", "/v1/sweeps/424242"),
        ("get", "/v1/runs/424242"),
        ("get", "/v1/runs/424242/metrics"),
        ("get", "/v1/runs/424242/logs"),
        ("post", "/v1/runs/424242/cancel"),
        ("post", "/v1/runs/424242/retry"),
    ],
)
def test_unknown_ids_are_404_with_a_clear_body(client: TestClient, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert "424242 does not exist" in body["message"]
    assert body["hint"]


def test_submit_while_broker_is_down_keeps_the_run_for_the_dispatcher(
    settings: Settings,
    make_client: Callable[[Settings], TestClient],
    db: Session,
    tiny_job: dict[str, Any],
) -> None:
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6399/0"})  # no server
    with make_client(down) as client:
        started = time.monotonic()
        response = client.post("/v1/jobs", json=tiny_job)
        elapsed = time.monotonic() - started
        ready = client.get("/readyz")

    assert response.status_code == 202  # accepted: the database holds the job
    assert elapsed < 5
    runs = db.scalars(select(Run).where(Run.job_id == response.json()["id"])).all()
    assert runs and all(run.status == "queued" and run.dispatched_at is None for run in runs)
    assert ready.status_code == 503
    body = ready.json()
    assert body["code"] == "unavailable" and "broker" in body["message"]
    assert [error["field"] for error in body["errors"]] == ["broker"]


def test_readyz_and_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/sweeps",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/metrics",
        "/v1/runs/{run_id}/logs",
        "/v1/runs/{run_id}/cancel",
        "/v1/runs/{run_id}/retry",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path


def test_a_distilled_job_names_succeeded_teacher_runs(
    client: TestClient, db: Session, settings: Settings, tiny_job: dict[str, Any], tmp_path
) -> None:
    from tests.api.model_fixtures import add_run_with_checkpoint

    source = tmp_path / "best_loss_teacher.pt"
    source.write_bytes(b"a checkpoint")
    teacher = add_run_with_checkpoint(db, settings, source)
    queued = client.post("/v1/jobs", json=tiny_job).json()["runs"][0]["id"]
    body = {**tiny_job, "seeds": [1], "distill_weight": 0.7}

    def refused(run_ids: list[int]) -> str:
        response = client.post("/v1/jobs", json={**body, "teacher_runs": run_ids})
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "teacher_runs"
        return error["message"]

    assert refused([teacher.id, 987654]) == "teacher run 987654 does not exist"
    assert refused([queued]) == f"teacher run {queued} is queued; only a succeeded run can teach"
    accepted = client.post("/v1/jobs", json={**body, "teacher_runs": [teacher.id]})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["config"]["teacher_runs"] == [teacher.id]
    assert accepted.json()["config"]["distill_weight"] == 0.7
    Path(teacher.checkpoints[0].path).unlink()  # its files gone: it can teach no more
    assert refused([teacher.id]) == f"teacher run {teacher.id} has no best_loss checkpoint on disk"
