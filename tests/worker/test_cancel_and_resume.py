"""Cancel stops every rank; a SIGKILLed worker's run resumes from its checkpoint elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable

from service_harness import FINAL, TINY_JOB, Service, processes_of_run

# Long enough to be caught mid-training; patience so early stopping cannot end it first.
LONG_JOB = {**TINY_JOB, "patience": 1000, "seeds": [42]}


def test_cancel_running_two_rank_job_stops_every_process(
    make_service: Callable[..., Service],
) -> None:
    service = make_service("postgres")
    worker = service.start_worker()
    run_id = service.submit({**LONG_JOB, "epochs": 500, "nproc": 2})["runs"][0]["id"]
    service.wait_run(run_id, lambda r: r["progress"]["world_size"] == 2, timeout=90)
    # torchrun + two ranks, each in a session of its own.
    assert len(processes_of_run(run_id, service.mark)) >= 3

    response = service.http.post(f"/v1/runs/{run_id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] in ("cancelling", "cancelled")
    run = service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=30)

    assert run["status"] == "cancelled"
    assert "every rank was stopped" in run["status_reason"]
    assert processes_of_run(run_id, service.mark) == []
    assert worker.poll() is None  # the worker survives and takes the next job
    next_run = service.submit({**TINY_JOB, "epochs": 1, "seeds": [1]})["runs"][0]["id"]
    assert service.wait_run(next_run, lambda r: r["status"] in FINAL)["status"] == "succeeded"


def test_sigkilled_worker_run_resumes_from_checkpoint_on_another_worker(
    make_service: Callable[..., Service],
) -> None:
    service = make_service("postgres")
    service.start_worker("first")
    epochs = 8
    job = service.submit({**LONG_JOB, "epochs": epochs})
    run_id = job["runs"][0]["id"]

    def has_last_checkpoint(run: dict) -> bool:
        return any(c["kind"] == "last" and c["epoch"] >= 1 for c in run["checkpoints"])

    before = service.wait_run(run_id, has_last_checkpoint, timeout=90)
    assert before["status"] == "running" and before["progress"]["epoch"] < epochs
    service.kill_worker("first")

    # The training dies with its worker (no orphan writes into the checkpoint folder) ...
    service.wait(lambda: not processes_of_run(run_id, service.mark), timeout=20, what="orphans")
    # ... and the silent heartbeat gets the run re-queued as attempt 2.
    requeued = service.wait_run(run_id, lambda r: r["attempt"] == 2, timeout=40)
    assert "stopped sending heartbeats" in requeued["status_reason"]
    started = time.monotonic()
    service.start_worker("second")
    run = service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=120)

    assert run["status"] == "succeeded", service.diagnostics(run_id)
    assert run["attempt"] == 2 and run["worker"].startswith("second-")
    assert run["resumed_from"] and run["resumed_from"].endswith(".pt")
    assert run["progress"]["start_epoch"] >= 1  # it did not start over
    assert time.monotonic() - started < 120
    epochs_seen = [
        e["epoch"] for e in service.http.get(f"/v1/runs/{run_id}/metrics").json()["epochs"]
    ]
    assert epochs_seen == list(range(1, epochs + 1))  # every epoch once, none duplicated
    kinds = [c["kind"] for c in run["checkpoints"]]
    assert sorted(kinds) == ["best_loss", "best_macro_f1", "final", "last"]  # one row per kind
    assert service.http.get(f"/v1/runs?job_id={job['id']}").json()["total"] == 1
    logs = service.http.get(f"/v1/runs/{run_id}/logs?lines=5000").json()["lines"]
    assert any("=== attempt 2" in line for line in logs)
