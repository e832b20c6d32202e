"""Promotions swap the served model under load without failing a single request."""

from __future__ import annotations

import threading
import time

from model_fixtures import (
    add_run_with_checkpoint,
    context,
    delivery,
    model_server_for,
    next_ball,
)


def test_ten_promotions_under_concurrent_predictions_fail_nothing(
    client, db, settings, history_table, checkpoint_files
):
    client.app.state.model_server = model_server_for(settings, history_table)
    versions = []
    for path in checkpoint_files:
        run = add_run_with_checkpoint(db, settings, path)
        versions.append(client.post("/v1/models", json={"run_id": run.id}).json()["version"])
    assert client.post(f"/v1/models/{versions[0]}/promote").status_code == 200
    body = {
        "context": context(),
        "deliveries": [delivery(over=i // 6, runs=i % 3) for i in range(30)],
        "next_ball": next_ball(),
    }
    stop = threading.Event()
    failures: list[str] = []
    served_versions: set[int] = set()
    counts = [0]

    def hammer() -> None:
        while not stop.is_set():
            try:
                response = client.post("/v1/predict", json=body)
            except Exception as exc:  # a transport-level failure counts too
                failures.append(repr(exc))
                continue
            counts[0] += 1
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text}")
            else:
                served_versions.add(response.json()["model_version"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(10):
            version = versions[(i + 1) % len(versions)]
            promoted = client.post(f"/v1/models/{version}/promote")
            assert promoted.status_code == 200, promoted.text
            assert client.app.state.model_server.version == version
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert counts[0] >= 10
    assert len(served_versions) >= 2
    history = client.get("/v1/models/aliases/production").json()["history"]
    assert len(history) == 11


def test_a_promotion_made_by_another_process_is_served_after_refresh(
    client, db, settings, history_table, checkpoint_files
):
    from api.db import ModelAliasName
    from api.models import service

    server = model_server_for(settings, history_table)
    client.app.state.model_server = server
    versions = []
    for path in checkpoint_files[:2]:
        run = add_run_with_checkpoint(db, settings, path)
        versions.append(client.post("/v1/models", json={"run_id": run.id}).json()["version"])
    assert client.post(f"/v1/models/{versions[0]}/promote").status_code == 200
    # Another API process moves the alias: this process's server is not told.
    service.promote(db, versions[1], ModelAliasName.PRODUCTION, actor="elsewhere")
    db.flush()
    assert server.version == versions[0]
    server.refresh_s = 0.01
    time.sleep(0.02)
    server.refresh_if_due(client.app.state.session_factory)
    deadline = time.monotonic() + 10
    while server.version != versions[1] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.version == versions[1]
