"""Reading runs (filters, progress, metrics, logs) and the cancel/retry state machine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db import Checkpoint, Run, RunMetric, utcnow
from api.settings import Settings


def _submit(client: TestClient, body: dict[str, Any]) -> list[int]:
    response = client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return [run["id"] for run in response.json()["runs"]]


def _set(db: Session, run_id: int, **values: Any) -> None:
    run = db.get_one(Run, run_id)
    for name, value in values.items():
        setattr(run, name, value)
    db.commit()


def test_list_filters_and_paginates(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    base_ids = _submit(client, {**tiny_job, "seeds": [1, 2, 3]})
    hybrid_ids = _submit(client, {**tiny_job, "model": "hybrid", "seeds": [1]})
    _set(db, base_ids[0], status="running", worker="w1", heartbeat_at=utcnow())

    def ids(query: str) -> list[int]:
        return [run["id"] for run in client.get(f"/v1/runs?{query}").json()["items"]]

    assert ids("model=hybrid") == hybrid_ids
    assert ids("status=running") == [base_ids[0]]
    assert ids("status=running&status=queued&model=base") == sorted(base_ids, reverse=True)
    job_id = client.get(f"/v1/runs/{base_ids[0]}").json()["job_id"]
    page = client.get(f"/v1/runs?job_id={job_id}&limit=2&offset=1").json()
    assert page["total"] == 3 and page["limit"] == 2 and page["offset"] == 1
    assert [run["id"] for run in page["items"]] == sorted(base_ids, reverse=True)[1:3]


def test_run_read_shows_progress_metrics_and_checkpoints(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    val = {"log_loss": 1.6, "macro_f1": 0.21}
    _set(
        db,
        run_id,
        status="running",
        epochs_total=4,
        progress_epoch=2,
        progress_step=5,
        steps_per_epoch=10,
        samples_per_s=900.0,
        eta_s=12.5,
        latest_metrics={"epoch": 1, "val": val},
        best_metrics={"epoch": 1, "val": val},
    )
    db.add(RunMetric(run_id=run_id, epoch=1, lr=1e-3, train={"loss": 1.7}, val=val))
    db.add(
        Checkpoint(
            run_id=run_id, kind="last", path="/x/last.pt", sha256="ab" * 32, size_bytes=10, epoch=1
        )
    )
    db.commit()

    run = client.get(f"/v1/runs/{run_id}").json()
    assert run["progress"]["fraction_done"] == (1 + 0.5) / 4
    assert run["progress"]["samples_per_s"] == 900.0 and run["progress"]["eta_s"] == 12.5
    assert run["latest_metrics"]["val"] == val and run["best_metrics"]["epoch"] == 1
    assert [(c["kind"], c["epoch"]) for c in run["checkpoints"]] == [("last", 1)]
    assert run["links"]["metrics"] == f"/v1/runs/{run_id}/metrics"
    series = client.get(f"/v1/runs/{run_id}/metrics").json()
    assert series["epochs"] == [
        {
            "epoch": 1,
            "lr": 1e-3,
            "train": {"loss": 1.7},
            "val": val,
            "recorded_at": series["epochs"][0]["recorded_at"],
        }
    ]


def test_logs_returns_the_tail(
    client: TestClient, settings: Settings, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    assert client.get(f"/v1/runs/{run_id}/logs").json()["lines"] == []  # nothing yet
    log = settings.run_dir(run_id) / "train.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(5000)))

    body = client.get(f"/v1/runs/{run_id}/logs?lines=3").json()
    assert body["lines"] == ["line 4997", "line 4998", "line 4999"]
    assert body["truncated"] is True
    assert Path(body["path"]) == log


def test_cancel_queued_run_is_immediate_and_final(
    client: TestClient, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    response = client.post(f"/v1/runs/{run_id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"]

    again = client.post(f"/v1/runs/{run_id}/cancel")
    assert again.status_code == 409
    assert "already cancelled" in again.json()["message"]
    assert "/retry" in again.json()["hint"]


def test_cancel_running_run_asks_the_worker(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    _set(db, run_id, status="running", worker="w1", heartbeat_at=utcnow())
    first = client.post(f"/v1/runs/{run_id}/cancel").json()
    second = client.post(f"/v1/runs/{run_id}/cancel").json()
    assert first["status"] == second["status"] == "cancelling"
    assert "stopping every rank" in first["status_reason"]


def test_retry_requeues_a_new_attempt(
    client: TestClient, db: Session, tiny_job: dict[str, Any], queued_messages: Any
) -> None:
    run_id = _submit(client, tiny_job)[0]
    _set(db, run_id, status="failed", error="boom", exit_code=1, finished_at=utcnow())
    db.add(Checkpoint(run_id=run_id, kind="last", path="/x/l.pt", sha256="0" * 64, size_bytes=1))
    db.commit()

    response = client.post(f"/v1/runs/{run_id}/retry")
    assert response.status_code == 202
    run = response.json()
    assert (run["status"], run["attempt"], run["error"]) == ("queued", 2, None)
    assert run["attempt_limit"] == 2 + 3 - 1  # a manual retry renews the attempt budget
    assert len(run["checkpoints"]) == 1  # kept: the worker resumes from it
    assert f"run-{run_id}-attempt-2" in {m["headers"]["id"] for m in queued_messages()}

    conflict = client.post(f"/v1/runs/{run_id}/retry")
    assert conflict.status_code == 409 and "only failed or cancelled" in conflict.json()["message"]


def test_retry_from_scratch_forgets_checkpoints(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    client.post(f"/v1/runs/{run_id}/cancel")
    db.add(Checkpoint(run_id=run_id, kind="last", path="/x/l.pt", sha256="0" * 64, size_bytes=1))
    db.commit()
    run = client.post(f"/v1/runs/{run_id}/retry", json={"resume": False}).json()
    assert run["checkpoints"] == [] and run["status"] == "queued"


def test_succeeded_run_cannot_be_retried(
    client: TestClient, db: Session, tiny_job: dict[str, Any]
) -> None:
    run_id = _submit(client, tiny_job)[0]
    _set(db, run_id, status="succeeded", finished_at=utcnow() - timedelta(seconds=1))
    response = client.post(f"/v1/runs/{run_id}/retry")
    assert response.status_code == 409
    assert "POST /v1/jobs" in response.json()["hint"]
