"""Stop the broker while jobs wait in it, start it again empty: every job still runs.

The private redis-server keeps nothing across a stop (no RDB, no AOF), so the queued
messages are gone for good; only the database remembers the runs, and the API's
maintenance loop must publish them again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fault_harness import FINAL, TINY_JOB, FaultService

NUM_JOBS = 3
OUTAGE_S = 5


def _queued_messages(service: FaultService) -> int:
    client = service.broker.client()
    return sum(
        int(client.llen(queue))
        for queue in client.scan_iter(match=b"training*")
        if client.type(queue) == b"list"
    )


def test_jobs_queued_in_redis_all_run_after_redis_restarts_empty(
    make_fault_service: Callable[..., FaultService], trainer_ready: None
) -> None:
    # Re-publish a queued run whose message was sent 5 s ago (production: 2 minutes).
    service = make_fault_service(env={"CRICKET_GNN_REDISPATCH_AFTER_S": "5"})
    service.start_worker()
    jobs = [service.submit({**TINY_JOB, "epochs": 1, "seeds": [seed]}) for seed in range(NUM_JOBS)]
    run_ids = [job["runs"][0]["id"] for job in jobs]
    # One worker trains one run at a time: the others wait in Redis.
    service.wait_run(run_ids[0], lambda r: r["status"] == "running", timeout=60)
    waiting_in_redis = _queued_messages(service)
    statuses_before = [service.run(run_id)["status"] for run_id in run_ids]

    service.broker.stop()
    time.sleep(OUTAGE_S)
    ready_during = service.http.get("/readyz")
    service.broker.start()
    assert _queued_messages(service) == 0  # the restart lost every queued message

    finals = [
        service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=150) for run_id in run_ids
    ]
    succeeded = [run for run in finals if run["status"] == "succeeded"]
    print(
        f"\nRedis stopped {OUTAGE_S} s with jobs queued, restarted empty: jobs={NUM_JOBS} "
        f"statuses_before={statuses_before} messages_lost_with_redis={waiting_in_redis} "
        f"readyz_during_outage={ready_during.status_code} "
        f"ran={len(succeeded)} lost={NUM_JOBS - len(succeeded)} "
        f"attempts={[run['attempt'] for run in finals]}"
    )
    assert waiting_in_redis >= 1  # the outage really did take queued messages with it
    assert ready_during.status_code == 503 and ready_during.json()["message"]
    assert [run["status"] for run in finals] == ["succeeded"] * NUM_JOBS, service.diagnostics()
    assert all(run["attempt"] == 1 for run in finals)  # none was trained twice
    assert service.http.get("/readyz").status_code == 200
