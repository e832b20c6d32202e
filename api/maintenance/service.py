"""The reaper: runs whose worker went silent are re-queued (to resume) or given up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from api.db import Run, RunStatus, utcnow
from api.maintenance import repository

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReapReport:
    requeued: list[int]
    failed: list[int]
    cancelled: list[int]


def reap_lost_runs(session: Session, heartbeat_timeout_s: float) -> ReapReport:
    """Settle every active run whose heartbeat is older than the timeout.

    Each update is conditional on the run still being the same silent attempt, so a
    worker that heartbeats at the last moment keeps its run, and two API replicas
    reaping at once settle each run once.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=heartbeat_timeout_s)
    requeued: list[int] = []
    failed: list[int] = []
    cancelled: list[int] = []
    for run in repository.runs_with_stale_heartbeat(session, cutoff):
        last_seen = run.heartbeat_at.isoformat() if run.heartbeat_at else "never"
        lost = f"worker {run.worker or '?'} stopped sending heartbeats (last {last_seen})"
        if run.status == RunStatus.CANCELLING:
            values: dict[str, object] = {
                "status": RunStatus.CANCELLED,
                "status_reason": f"cancelled; {lost} before confirming the stop",
                "finished_at": now,
            }
            bucket = cancelled
        elif run.attempt >= run.attempt_limit:
            values = {
                "status": RunStatus.FAILED,
                "status_reason": "gave up after the last allowed attempt lost its worker",
                "error": (
                    f"attempt {run.attempt} of {run.attempt_limit}: {lost}. "
                    f"POST /v1/runs/{run.id}/retry to try again from the last checkpoint."
                ),
                "finished_at": now,
            }
            bucket = failed
        else:
            values = _requeue_values(run, lost)
            bucket = requeued
        if repository.settle_lost_run(session, run, cutoff, values):
            bucket.append(run.id)
            log.warning("run %s attempt %s: %s -> %s", run.id, run.attempt, lost, values["status"])
    return ReapReport(requeued=requeued, failed=failed, cancelled=cancelled)


def _requeue_values(run: Run, lost: str) -> dict[str, object]:
    return {
        "status": RunStatus.QUEUED,
        "status_reason": (
            f"attempt {run.attempt} lost: {lost}; re-queued as attempt {run.attempt + 1} "
            f"of {run.attempt_limit}, resuming from the last checkpoint"
        ),
        "attempt": run.attempt + 1,
        "worker": None,
        "heartbeat_at": None,
        "queued_at": utcnow(),
        "dispatched_at": None,
        "dispatch_count": 0,
    }
