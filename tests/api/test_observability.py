"""/metrics, request ids in headers and log lines, JSON logs, and /readyz's model report."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from model_fixtures import add_run_with_checkpoint, context, next_ball
from prometheus_client.parser import text_string_to_metric_families

from api.observability.logs import JsonFormatter, configure_logging, request_id_var
from api.settings import Settings


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_latency_is_labelled_by_route_template_not_raw_path(client: TestClient) -> None:
    for run_id in (987654, 987655):
        assert client.get(f"/v1/runs/{run_id}").status_code == 404
    assert client.get("/v1/runs").status_code == 200

    samples = scrape(client)
    count = "cricket_gnn_http_request_duration_seconds_count"
    labels = (("method", "GET"), ("route", "/v1/runs/{run_id}"), ("status", "404"))
    assert samples[(count, labels)] == 2
    assert samples[(count, (("method", "GET"), ("route", "/v1/runs"), ("status", "200")))] == 1
    assert not any("987654" in dict(key[1]).get("route", "") for key in samples)


def test_run_gauges_are_read_from_the_database_at_scrape_time(
    client: TestClient, tiny_job: dict[str, Any]
) -> None:
    before = scrape(client)
    assert before[("cricket_gnn_database_up", ())] == 1
    assert before[("cricket_gnn_queue_depth", ())] == 0
    assert client.post("/v1/jobs", json=tiny_job).status_code == 202  # two seeds, two runs

    after = scrape(client)
    assert after[("cricket_gnn_runs", (("state", "queued"),))] == 2
    assert after[("cricket_gnn_runs", (("state", "running"),))] == 0
    assert after[("cricket_gnn_queue_depth", ())] == 2


def test_predictions_are_counted_per_model_version_and_readyz_reports_the_model(
    served_client: TestClient, db: Any, settings: Settings, checkpoint_files: list[Any]
) -> None:
    ready = served_client.get("/readyz").json()
    assert ready["model"] == {"production_loaded": False, "version": None, "runtime": None}
    assert ("cricket_gnn_production_model_version", ()) not in scrape(served_client)

    run = add_run_with_checkpoint(db, settings, checkpoint_files[0])
    version = served_client.post("/v1/models", json={"run_id": run.id}).json()["version"]
    assert served_client.post(f"/v1/models/{version}/promote").status_code == 200

    ready = served_client.get("/readyz").json()
    assert ready["model"] == {"production_loaded": True, "version": version, "runtime": "pytorch"}
    ball = {"context": context(), "next_ball": next_ball()}
    assert served_client.post("/v1/predict", json=ball).status_code == 200
    batch = served_client.post("/v1/predict/batch", json={"items": [ball] * 3})
    assert batch.status_code == 200, batch.text

    samples = scrape(served_client)
    served = (("model_version", str(version)),)
    assert samples[("cricket_gnn_predictions_total", served)] == 4
    assert samples[("cricket_gnn_served_model_version", ())] == version
    assert samples[("cricket_gnn_production_model_version", ())] == version


def test_request_id_is_taken_or_made_and_returned(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert given.headers["X-Request-ID"] == "trace-42"
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != made.headers["X-Request-ID"]
    # An id that could forge log lines or headers is replaced, not echoed.
    odd = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])
    # Errors carry it too.
    assert client.get("/v1/runs/987654", headers={"X-Request-ID": "r-404"}).headers[
        "X-Request-ID"
    ] == ("r-404")


def test_every_log_line_of_a_request_carries_its_id(
    settings: Settings,
    make_client: Callable[[Settings], TestClient],
    tiny_job: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:6399/0"})  # no server
    caplog.set_level(logging.INFO)
    with make_client(down) as client:
        response = client.post("/v1/jobs", json=tiny_job, headers={"X-Request-ID": "job-7"})
    assert response.status_code == 202
    logger = logging.getLogger("outside")
    logger.info("not in a request")

    # The broker warning is logged from the endpoint's worker thread, after the commit.
    broker_lines = [r for r in caplog.records if r.name == "api.broker"]
    request_lines = [r for r in caplog.records if r.name == "api.requests"]
    assert broker_lines and all(r.request_id == "job-7" for r in broker_lines)
    assert [r.request_id for r in request_lines if r.getMessage().startswith("POST")] == ["job-7"]
    outside = [r for r in caplog.records if r.name == "outside"]
    assert outside[0].request_id is None


def test_json_log_lines_hold_the_message_the_request_id_and_extra_fields() -> None:
    configure_logging("auto", "INFO")  # what create_app does: installs the record factory
    token = request_id_var.set("abc123")
    try:
        record = logging.getLogger("api.test").makeRecord(
            "api.test", logging.WARNING, __file__, 1, "run %s lost", (7,), None,
            extra={"run_id": 7},
        )  # fmt: skip
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == "run 7 lost" and payload["level"] == "WARNING"
    assert payload["logger"] == "api.test" and payload["run_id"] == 7
    assert payload["request_id"] == "abc123" and payload["time"].endswith("+00:00")
