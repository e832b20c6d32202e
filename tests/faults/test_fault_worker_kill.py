"""SIGKILL the worker and its whole torchrun tree mid-run, three times on one run: each
lost attempt is reaped and resumed from its last checkpoint, and once the attempt limit
is spent the run fails with a reason instead of looping or hanging.

Before the second kill the worker is frozen (SIGSTOP) while its training goes on, so an
epoch is trained and checkpointed that the worker never reported: the resumed attempt
starts after it, and its metrics must still reach the run's record.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from fault_harness import FINAL, TINY_JOB, FaultService, processes_of_run

MAX_ATTEMPTS = 3
# Far more epochs than the test lets it reach; patience so early stopping cannot end it.
LONG_JOB = {**TINY_JOB, "epochs": 500, "patience": 1000, "seeds": [42]}


def _last_epoch(run: dict[str, Any]) -> int:
    return max((c["epoch"] or 0 for c in run["checkpoints"] if c["kind"] == "last"), default=0)


def _freeze_reporting(service: FaultService, worker: str, run: dict[str, Any]) -> int:
    """SIGSTOP the worker's pool child (the run's supervisor) and let training go on until
    it has checkpointed an epoch the supervisor never reported; returns that epoch."""
    reported = _last_epoch(run)
    for pool_child in psutil.Process(service.workers[worker].pid).children():
        pool_child.suspend()
    progress = _run_dir(service, run["id"]) / f"progress-attempt{run['attempt']}.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        checkpointed = [
            event["epoch"]
            for event in _events(progress)
            if event["event"] == "checkpoint" and event["kind"] == "last"
        ]
        if checkpointed and max(checkpointed) > reported:
            return int(max(checkpointed))
        time.sleep(0.1)
    raise AssertionError(f"the frozen worker's training never got past epoch {reported}")


def _run_dir(service: FaultService, run_id: int) -> Path:
    return Path(service.env["CRICKET_GNN_ARTIFACT_ROOT"]) / "runs" / str(run_id)


def _events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    if not path.is_file():
        return events
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):  # a line still being written
            events.append(json.loads(line))
    return events


def test_three_kills_resume_twice_then_fail_with_a_reason(
    make_fault_service: Callable[..., FaultService], trainer_ready: None
) -> None:
    service = make_fault_service(env={"CRICKET_GNN_MAX_ATTEMPTS": str(MAX_ATTEMPTS)})
    run_id = service.submit(LONG_JOB)["runs"][0]["id"]
    kills: list[dict[str, Any]] = []

    for kill in range(1, MAX_ATTEMPTS + 1):
        worker = f"w{kill}"
        service.start_worker(worker)
        # Mid-run: this attempt has started training and reported an epoch past its start
        # (the start is read from its own progress file: the run's fields still show the
        # attempt before until it reports).
        progress = _run_dir(service, run_id) / f"progress-attempt{kill}.jsonl"
        service.wait(
            lambda path=progress: any(e["event"] == "start" for e in _events(path)),
            timeout=120,
            what=f"attempt {kill} to start training",
        )
        floor = _last_epoch(service.run(run_id))
        run = service.wait_run(
            run_id,
            lambda r, floor=floor, attempt=kill: (
                r["attempt"] == attempt and r["status"] == "running" and _last_epoch(r) > floor
            ),
            timeout=120,
        )
        unreported = _freeze_reporting(service, worker, run) if kill == 2 else None
        killed = service.kill_worker_tree(worker)
        kills.append(
            {
                "attempt": run["attempt"],
                "start_epoch": run["progress"]["start_epoch"],
                "resumed_from": run["resumed_from"],
                "last_checkpoint_epoch": _last_epoch(run),
                "processes_killed": killed,
                "trained_unreported_to_epoch": unreported,
            }
        )
        assert processes_of_run(run_id, service.mark) == []
        if kill < MAX_ATTEMPTS:
            requeued = service.wait_run(run_id, lambda r, a=kill: r["attempt"] == a + 1, timeout=60)
            assert requeued["status"] in ("queued", "running")
            assert "stopped sending heartbeats" in requeued["status_reason"]

    final = service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=60)
    epochs_recorded = [e["epoch"] for e in service.get(f"/v1/runs/{run_id}/metrics")["epochs"]]

    print("\nworker SIGKILLed mid-run, 3 times on one run (attempt limit 3):")
    for number, kill in enumerate(kills, start=1):
        print(
            f"  kill {number}: attempt={kill['attempt']} start_epoch={kill['start_epoch']} "
            f"resumed_from={kill['resumed_from']} last_checkpoint_epoch="
            f"{kill['last_checkpoint_epoch']} processes_killed={kill['processes_killed']} "
            f"trained_unreported_to_epoch={kill['trained_unreported_to_epoch']}"
        )
    print(
        f"  final: status={final['status']} attempt={final['attempt']}/{final['attempt_limit']} "
        f"reason={final['status_reason']!r}\n  error={final['error']!r}\n"
        f"  epochs recorded={epochs_recorded}"
    )

    assert [k["attempt"] for k in kills] == [1, 2, 3]
    assert kills[0]["start_epoch"] == 0 and kills[0]["resumed_from"] is None
    for earlier, later in zip(kills, kills[1:], strict=False):
        # Each attempt resumed where the killed one had checkpointed, not from scratch.
        assert later["resumed_from"] and later["resumed_from"].endswith(".pt")
        assert later["start_epoch"] >= earlier["last_checkpoint_epoch"] > 0
    assert kills[2]["start_epoch"] == kills[1]["trained_unreported_to_epoch"]
    assert final["status"] == "failed"
    assert final["attempt"] == final["attempt_limit"] == MAX_ATTEMPTS
    assert "gave up after the last allowed attempt lost its worker" in final["status_reason"]
    assert "stopped sending heartbeats" in final["error"]
    assert f"/v1/runs/{run_id}/retry" in final["error"]  # says how to go on
    assert epochs_recorded == list(range(1, max(epochs_recorded) + 1))  # none twice, none lost
