"""Restart the API (gracefully, then twice by SIGKILL) while clients keep submitting jobs:
every job the API accepted still exists afterwards, reaches the broker, and no client
retry across a restart created a second job.

A client that lost its answer in a crash sends the same Idempotency-Key again; whether a
SIGKILL lands between a commit and its response is luck, so after the restarts every
submission is also re-sent once, as such a client would, and must come back as a replay.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psycopg
from fault_harness import TINY_JOB, FaultService

NUM_CLIENTS = 3
MAX_SUBMISSIONS = 300  # a bound on the whole stream, whatever happens
GIVE_UP_S = 60  # a client stops retrying one submission after this long


@dataclass
class Tally:
    """What the clients saw, shared by their threads (list appends are atomic)."""

    submitted: list[str] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)  # key -> job id
    replayed: list[str] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)  # status code, 0 = no response
    gave_up: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _submit_until_answered(
    client: httpx.Client, key: str, body: dict[str, object], tally: Tally
) -> None:
    """Send one submission, retrying it with the same key until the API answers it."""
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        try:
            response = client.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            tally.requests.append(0)
            time.sleep(0.1)
            continue
        tally.requests.append(response.status_code)
        if response.is_success and "id" in response.json():
            tally.accepted[key] = response.json()["id"]
            if response.headers.get("Idempotent-Replayed") == "true":
                tally.replayed.append(key)
            return
        if response.status_code < 500:
            tally.rejected.append(f"{key}: {response.status_code} {response.text[:300]}")
            return
        time.sleep(0.1)  # a 5xx is retried like a dropped connection (and counted)
    tally.gave_up.append(key)


def _client_loop(service: FaultService, index: int, stop: threading.Event, tally: Tally) -> None:
    with httpx.Client(base_url=service.url, headers=service.http.headers, timeout=10) as client:
        sequence = 0
        while not stop.is_set() and len(tally.submitted) < MAX_SUBMISSIONS:
            key = f"restart-{index}-{sequence}"
            body = {**TINY_JOB, "epochs": 1, "seeds": [index * 1000 + sequence]}
            tally.submitted.append(key)
            _submit_until_answered(client, key, body, tally)
            sequence += 1
            time.sleep(0.02)


def _queued_task_ids(service: FaultService) -> set[str]:
    """Task ids of every message waiting in the private broker's training queues."""
    client = service.broker.client()
    found = set()
    for queue in client.scan_iter(match=b"training*"):
        if client.type(queue) == b"list":
            for raw in client.lrange(queue, 0, -1):
                found.add(json.loads(raw)["headers"]["id"])
    return found


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_api_restarts_lose_and_duplicate_no_accepted_job(
    make_fault_service: Callable[..., FaultService],
) -> None:
    # No worker: every run stays queued, so the broker's queue shows what reached it.
    service = make_fault_service(env={"CRICKET_GNN_REDISPATCH_AFTER_S": "2"})
    tally, stop = Tally(), threading.Event()
    clients = [
        threading.Thread(target=_client_loop, args=(service, i, stop, tally), daemon=True)
        for i in range(NUM_CLIENTS)
    ]
    for thread in clients:
        thread.start()
    try:
        restarts = 0
        for how in (signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
            target = len(tally.accepted) + 15
            assert _wait_for(lambda t=target: len(tally.accepted) >= t, 60), tally.rejected
            service.restart_api(how)
            restarts += 1
        target = len(tally.accepted) + 15
        assert _wait_for(lambda: len(tally.accepted) >= target, 60), tally.rejected
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=GIVE_UP_S + 15)

    resent_replayed = _resend_all(service, tally)
    survived = [key for key, job_id in tally.accepted.items() if _job_exists(service, job_id)]
    with psycopg.connect(service.database_url.replace("+psycopg", "")) as connection:
        rows = connection.execute(
            "SELECT idempotency_key, count(*) FROM jobs GROUP BY 1"
        ).fetchall()
    jobs_per_key = dict(rows)
    duplicated = sum(count - 1 for count in jobs_per_key.values())
    unanswered_but_created = sorted(set(jobs_per_key) - set(tally.accepted))
    expected_tasks = {f"run-{run_id}-attempt-1" for run_id in _run_ids(service, tally)}
    reached_broker = _wait_for(lambda: expected_tasks <= _queued_task_ids(service), 30)
    in_broker = len(expected_tasks & _queued_task_ids(service))
    dropped = sum(1 for code in tally.requests if code == 0)
    server_errors = sum(1 for code in tally.requests if code >= 500)

    print(
        f"\nAPI restarts during submissions: restarts={restarts} (SIGTERM, SIGKILL, SIGKILL) "
        f"clients={NUM_CLIENTS} submitted={len(tally.submitted)} requests={len(tally.requests)} "
        f"dropped_connections={dropped} 5xx={server_errors} "
        f"accepted={len(tally.accepted)} replayed_on_retry={len(tally.replayed)} "
        f"survived={len(survived)} lost={len(tally.accepted) - len(survived)} "
        f"resent_after_restarts={len(tally.accepted)} came_back_as_replay={resent_replayed} "
        f"duplicated={duplicated} gave_up={len(tally.gave_up)} rejected={len(tally.rejected)} "
        f"jobs_in_db={sum(jobs_per_key.values())} runs_in_broker={in_broker}/{len(expected_tasks)}"
    )
    assert tally.rejected == [] and tally.gave_up == []
    assert len(tally.accepted) == len(tally.submitted)  # every submission got its answer
    assert len(survived) == len(tally.accepted)  # lost: 0
    assert resent_replayed == len(tally.accepted)
    assert duplicated == 0 and unanswered_but_created == []
    assert reached_broker, f"{len(expected_tasks - _queued_task_ids(service))} runs never published"


def _resend_all(service: FaultService, tally: Tally) -> int:
    """Re-send every accepted submission with its key; how many came back as the same job."""
    replayed = 0
    for key, job_id in tally.accepted.items():
        index, sequence = (int(part) for part in key.split("-")[1:])
        body = {**TINY_JOB, "epochs": 1, "seeds": [index * 1000 + sequence]}
        response = service.http.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
        same = response.status_code == 202 and response.json()["id"] == job_id
        replayed += int(same and response.headers.get("Idempotent-Replayed") == "true")
    return replayed


def _job_exists(service: FaultService, job_id: int) -> bool:
    return service.http.get(f"/v1/jobs/{job_id}").status_code == 200


def _run_ids(service: FaultService, tally: Tally) -> list[int]:
    ids = []
    for job_id in tally.accepted.values():
        job = service.get(f"/v1/jobs/{job_id}")
        ids += [run["id"] for run in job["runs"]]
    return ids
