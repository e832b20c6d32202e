"""/v1/studies on the real Postgres and Redis (no worker: runs stay queued)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Job, Run

STAGE2: dict[str, Any] = {
    "template": "stage2",
    "base": {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "batch_size": 256},
    "seeds": [42, 123],
    "epochs": 1,
    "data_fraction": 0.02,
}


def test_a_study_queues_its_first_stage_as_jobs_of_the_study(
    client: TestClient, db: Session, queued_messages: Callable[[], list[dict[str, Any]]]
) -> None:
    response = client.post("/v1/studies", json=STAGE2)
    assert response.status_code == 202, response.text
    study = response.json()
    assert response.headers["Location"] == f"/v1/studies/{study['id']}"
    assert (study["status"], study["stage"]) == ("running", "stage2")
    assert [e["name"] for e in study["experiments"]] == ["base", "pooling", "hybrid"]
    assert all(len(e["runs"]) == 2 and e["status"] == "queued" for e in study["experiments"])
    assert study["decisions"] == [] and study["final_config"] is None

    jobs = db.scalars(select(Job).where(Job.study_id == study["id"])).all()
    assert sorted(job.model for job in jobs) == ["base", "hybrid", "pooling"]
    assert all(job.config["epochs"] == 1 and job.config["hidden_dim"] == 16 for job in jobs)
    assert len(queued_messages()) == 6  # one per run, published after the commit

    again = client.get(f"/v1/studies/{study['id']}").json()
    assert again["experiments"] == study["experiments"]


@pytest.mark.parametrize(
    ("body", "field_or_text"),
    [
        ({"template": "stage9"}, "template"),
        ({"template": "stage1", "base": {"model": "full"}}, "base.model"),
        ({"template": "stage1", "base": {"num_heads": 3}}, "num_heads=3 must divide"),
        ({"template": "stage1", "grid": {"num_layers": [2, 12]}}, "num_layers"),
        ({"template": "stage1", "seeds": [1, 1]}, "seeds must be distinct"),
        ({"template": "stage4", "epochs": 0}, "epochs"),
    ],
)
def test_bad_studies_are_rejected_with_what_to_fix(
    client: TestClient, db: Session, body: dict[str, Any], field_or_text: str
) -> None:
    response = client.post("/v1/studies", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert field_or_text in error["message"] or field_or_text in str(error["errors"])
    assert error["hint"]
    assert db.scalars(select(Job)).all() == []  # nothing was queued


def test_unknown_study_is_404(client: TestClient) -> None:
    for method, path in (("GET", "/v1/studies/999"), ("POST", "/v1/studies/999/cancel"),
                         ("GET", "/v1/studies/999/report")):  # fmt: skip
        response = client.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert "Study 999 does not exist" in response.json()["message"]


def test_cancel_stops_every_run_of_the_study(client: TestClient, db: Session) -> None:
    study = client.post("/v1/studies", json=STAGE2).json()
    response = client.post(f"/v1/studies/{study['id']}/cancel")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and "6 run(s) cancelled" in cancelled["status_reason"]
    runs = db.scalars(
        select(Run).join(Job, Run.job_id == Job.id).where(Job.study_id == study["id"])
    ).all()
    assert {run.status for run in runs} == {"cancelled"}
    again = client.post(f"/v1/studies/{study['id']}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["message"]


def test_report_of_a_waiting_study_in_every_format(client: TestClient) -> None:
    study = client.post("/v1/studies", json=STAGE2).json()
    path = f"/v1/studies/{study['id']}/report"
    as_json = client.get(path).json()
    assert as_json["id"] == study["id"] and as_json["stage"] == "stage2"
    assert as_json["waiting"] == ["stage2/base", "stage2/pooling", "stage2/hybrid"]
    markdown = client.get(path, headers={"Accept": "text/markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "## Stage 2" in markdown.text and "Waiting for runs." in markdown.text
    as_csv = client.get(path, params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith("kind,stage,name,label,split,group,metric")


def test_same_idempotency_key_returns_the_same_study(client: TestClient) -> None:
    headers = {"Idempotency-Key": "study-once"}
    first = client.post("/v1/studies", json=STAGE2, headers=headers)
    second = client.post("/v1/studies", json=STAGE2, headers=headers)
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    other = client.post("/v1/studies", json={**STAGE2, "epochs": 2}, headers=headers)
    assert other.status_code == 409


def test_studies_need_train_to_start_and_read_to_look(
    anonymous_client: TestClient, api_key: Callable[..., str]
) -> None:
    reader = {"Authorization": "Bearer " + api_key("read")}
    trainer = {"Authorization": "Bearer " + api_key("train", "read")}
    assert anonymous_client.post("/v1/studies", json=STAGE2).status_code == 401
    assert anonymous_client.post("/v1/studies", json=STAGE2, headers=reader).status_code == 403
    created = anonymous_client.post("/v1/studies", json=STAGE2, headers=trainer)
    assert created.status_code == 202
    path = f"/v1/studies/{created.json()['id']}"
    assert anonymous_client.get(path, headers=reader).status_code == 200
    assert anonymous_client.post(f"{path}/cancel", headers=reader).status_code == 403


def test_studies_list_newest_first_with_status_and_stage(client: TestClient) -> None:
    first = client.post("/v1/studies", json={"template": "stage2", "name": "first"}).json()
    second = client.post("/v1/studies", json={"template": "stage1", "name": "second"}).json()
    page = client.get("/v1/studies", params={"limit": 1}).json()
    assert page["total"] == 2 and page["limit"] == 1
    assert [row["id"] for row in page["items"]] == [second["id"]]
    assert page["items"][0]["name"] == "second"
    assert page["items"][0]["status"] == "running"
    rest = client.get("/v1/studies", params={"offset": 1}).json()["items"]
    assert [(row["id"], row["template"]) for row in rest] == [(first["id"], "stage2")]
