"""A tiny progression study through the real service: API + Celery worker + torchrun."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from service_harness import Service, archive_path

from api.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests" / "studies"))
from study_archive import write_small_archive  # noqa: E402

TINY_PROGRESSION = {
    "template": "progression",
    "base": {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "batch_size": 256},
    "grid": {"hidden_dim": [8], "num_layers": [1], "lr": [0.001]},
    "seeds": [42],
    "epochs": 1,
    "num_resamples": 200,
}


def _admin_headers(service: Service) -> dict[str, str]:
    from api.auth.keys import create_api_key
    from api.db import make_engine, make_session_factory, transaction

    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with transaction(make_session_factory(engine)) as session:
            plaintext, _ = create_api_key(session, name="study-e2e", scopes=["admin"])
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {plaintext}"}


def test_tiny_progression_runs_all_four_stages_and_reports(
    make_service: Callable[..., Service], tmp_path: Path
) -> None:
    small = write_small_archive(archive_path(), tmp_path / "small.zip")
    service = make_service(
        "postgres",
        env={"CRICKET_GNN_DATA": str(small), "CRICKET_GNN_CACHE": str(tmp_path / "cache")},
    )
    service.http.headers.update(_admin_headers(service))
    service.http.timeout = httpx.Timeout(60)  # the first report imports scipy and torch
    service.start_worker()
    response = service.http.post("/v1/studies", json=TINY_PROGRESSION)
    assert response.status_code == 202, response.text
    study_id = response.json()["id"]

    deadline = time.monotonic() + 1500  # nine real trainings; generous for a busy machine
    study = response.json()
    while study["status"] == "running":
        if time.monotonic() > deadline:
            pytest.fail(f"study stuck at {study['stage']}: {study}\n{service.diagnostics()}")
        time.sleep(2)
        study = service.http.get(f"/v1/studies/{study_id}").json()

    assert study["status"] == "succeeded", (study["status_reason"], service.diagnostics())
    steps = [d["step"] for d in study["decisions"]]
    assert steps == ["stage1.hidden_dim", "stage1.num_layers", "stage1.lr", "stage1",
                     "stage2", "stage3", "stage4"]  # fmt: skip
    trained = {e["job_id"] for e in study["experiments"] if not e["reused"]}
    assert len(trained) == 9  # 1 + pooling, hybrid + 2 stage-3 variants + A6–A9
    assert study["final_config"]["model"] == "full"
    assert all("evidence" in d["decision"] for d in study["decisions"][4:])

    markdown = service.http.get(f"/v1/studies/{study_id}/report?format=markdown").text
    for needle in ("## Stage 1", "## Stage 2", "## Stage 3", "## Stage 4",
                   "best_config_stage1 = {", "| Variant | Macro F1 | Weighted F1 | Notes |",
                   "| Variant | Macro F1 | Powerplay F1 | Death F1 | Inn 1 F1 | Inn 2 F1 |",
                   "| A7 | Full − FiLM |", "## Final production configuration",
                   "Resource requirements"):  # fmt: skip
        assert needle in markdown, needle
    report = service.http.get(f"/v1/studies/{study_id}/report").json()
    assert report["done"] is True and report["final_config"] == study["final_config"]
