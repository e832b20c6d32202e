"""Everything the worker writes to the database, fenced by the attempt it claimed.

Every write first refreshes the heartbeat with ``WHERE attempt = mine AND status is
active``; if that touches no row the run was re-queued or settled elsewhere, and the
worker must stop without writing anything else (it lost its claim).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db import (
    ACTIVE_STATUSES,
    Checkpoint,
    CheckpointKind,
    Run,
    RunMetric,
    RunStatus,
    SessionFactory,
    make_engine,
    make_session_factory,
    transaction,
    utcnow,
)
from api.jobs.teachers import teacher_checkpoints
from api.settings import Settings


@lru_cache(maxsize=4)
def _factory_for(url: str, pid: int) -> SessionFactory:
    # Keyed by pid: a prefork child must not reuse connections opened by its parent.
    return make_session_factory(make_engine(url, pool_size=2, max_overflow=2))


def session_factory(settings: Settings) -> SessionFactory:
    return _factory_for(settings.effective_database_url, os.getpid())


@dataclass(frozen=True, kw_only=True)
class ClaimedRun:
    """What the worker needs to launch the claimed attempt."""

    run_id: int
    attempt: int
    config: dict[str, Any]
    run_name: str
    nproc: int


class LostClaimError(Exception):
    """The run no longer belongs to this attempt (re-queued, cancelled or settled)."""


class RunStore:
    def __init__(self, factory: SessionFactory, run_id: int, attempt: int, worker: str) -> None:
        self.factory = factory
        self.run_id = run_id
        self.attempt = attempt
        self.worker = worker

    def claim(self) -> ClaimedRun | None:
        """Atomically move the run from queued to running for this attempt, or None."""
        now = utcnow()
        with transaction(self.factory) as session:
            result = session.execute(
                update(Run)
                .where(
                    Run.id == self.run_id,
                    Run.attempt == self.attempt,
                    Run.status == RunStatus.QUEUED,
                )
                .values(
                    status=RunStatus.RUNNING,
                    worker=self.worker,
                    heartbeat_at=now,
                    started_at=now,
                    status_reason=f"attempt {self.attempt} running on {self.worker}",
                    error=None,
                    exit_code=None,
                )
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                return None
            run = session.get_one(Run, self.run_id)
            return ClaimedRun(
                run_id=run.id,
                attempt=run.attempt,
                config=dict(run.config),
                run_name=run.run_name,
                nproc=run.nproc,
            )

    def resume_checkpoint(self) -> Path | None:
        """The run's ``last`` checkpoint, if an earlier attempt left one on disk."""
        with transaction(self.factory) as session:
            path = session.scalar(
                select(Checkpoint.path).where(
                    Checkpoint.run_id == self.run_id, Checkpoint.kind == CheckpointKind.LAST
                )
            )
        return Path(path) if path and Path(path).is_file() else None

    def teacher_checkpoints(self, run_ids: list[int]) -> list[Path]:
        """The checkpoints of the run's teacher runs (TeacherError if one cannot teach)."""
        if not run_ids:
            return []
        with transaction(self.factory) as session:
            return teacher_checkpoints(session, run_ids)

    def _fence(self, session: Session, **values: Any) -> str:
        """Refresh the heartbeat (plus ``values``); the run's status, or LostClaimError."""
        result = session.execute(
            update(Run)
            .where(
                Run.id == self.run_id,
                Run.attempt == self.attempt,
                Run.status.in_(ACTIVE_STATUSES),
            )
            .values(heartbeat_at=utcnow(), **values)
            .returning(Run.status)
        )
        status = result.scalar_one_or_none()
        if status is None:
            raise LostClaimError(f"run {self.run_id} attempt {self.attempt} is no longer ours")
        return str(status)

    def heartbeat(self, **values: Any) -> str:
        """Prove this attempt is alive; returns the status (``cancelling`` means stop)."""
        with transaction(self.factory) as session:
            return self._fence(session, **values)

    def apply_events(self, events: list[dict[str, Any]]) -> str:
        """Write a batch of trainer progress events in one transaction."""
        with transaction(self.factory) as session:
            status = self._fence(session)
            run = session.get_one(Run, self.run_id)
            latest_progress = None
            for event in events:
                kind = event.get("event")
                if kind == "progress":
                    latest_progress = event  # only the newest matters for a poller
                elif kind == "start":
                    _apply_start(run, event)
                elif kind == "epoch":
                    _apply_epoch(session, run, event)
                elif kind == "checkpoint":
                    _apply_checkpoint(session, run.id, event)
                elif kind == "finished":
                    run.final_metrics = {
                        key: event.get(key) for key in ("val", "test", "metrics_path")
                    }
            if latest_progress is not None:
                _apply_progress(run, latest_progress)
            return status

    def hand_back(self, why: str) -> None:
        """Re-queue the run at once as the next attempt (to resume), e.g. on shutdown.

        Not a failure: the attempt budget grows with it. A run being cancelled is
        cancelled instead.
        """
        with transaction(self.factory) as session:
            status = self._fence(session)
            now = utcnow()
            values: dict[str, Any]
            if status == RunStatus.CANCELLING:
                values = {"status": RunStatus.CANCELLED, "finished_at": now,
                          "status_reason": f"cancelled; {why} while stopping it"}  # fmt: skip
            else:
                values = {
                    "status": RunStatus.QUEUED,
                    "attempt": Run.attempt + 1,
                    "attempt_limit": Run.attempt_limit + 1,
                    "worker": None,
                    "heartbeat_at": None,
                    "queued_at": now,
                    "dispatched_at": None,
                    "dispatch_count": 0,
                    "status_reason": (
                        f"attempt {self.attempt} handed back: {why}; re-queued to resume "
                        "from the last checkpoint"
                    ),
                }
            session.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.attempt == self.attempt)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    def finish(self, status: RunStatus, **values: Any) -> bool:
        """Settle the attempt (succeeded / failed / cancelled); False if it was not ours."""
        with transaction(self.factory) as session:
            result = session.execute(
                update(Run)
                .where(
                    Run.id == self.run_id,
                    Run.attempt == self.attempt,
                    Run.status.in_(ACTIVE_STATUSES),
                )
                .values(status=status, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))


def _apply_start(run: Run, event: dict[str, Any]) -> None:
    run.world_size = event.get("world_size", run.world_size)
    run.device = event.get("device", run.device)
    run.data_version = event.get("data_version", run.data_version)
    run.code_version = event.get("code_version", run.code_version)
    run.epochs_total = event.get("epochs", run.epochs_total)
    run.steps_per_epoch = event.get("steps_per_epoch", run.steps_per_epoch)
    run.start_epoch = event.get("start_epoch", run.start_epoch)
    run.progress_at = utcnow()


def _apply_progress(run: Run, event: dict[str, Any]) -> None:
    run.progress_epoch = event.get("epoch", run.progress_epoch)
    run.progress_step = event.get("step", run.progress_step)
    run.steps_per_epoch = event.get("steps_per_epoch", run.steps_per_epoch)
    run.samples_per_s = event.get("samples_per_s", run.samples_per_s)
    run.eta_s = event.get("eta_s", run.eta_s)
    run.train_loss = event.get("train_loss", run.train_loss)
    run.progress_at = utcnow()


def _macro_f1(metrics: dict[str, Any] | None) -> float:
    value = ((metrics or {}).get("val") or {}).get("macro_f1")
    return float(value) if isinstance(value, int | float) else float("-inf")


def _apply_epoch(session: Session, run: Run, event: dict[str, Any]) -> None:
    epoch = int(event["epoch"])
    train, val = event.get("train") or {}, event.get("val") or {}
    row = session.scalar(
        select(RunMetric).where(RunMetric.run_id == run.id, RunMetric.epoch == epoch)
    )
    if row is None:  # a resumed attempt may repeat an epoch: update, never duplicate
        row = RunMetric(run_id=run.id, epoch=epoch)
        session.add(row)
    row.lr, row.train, row.val, row.recorded_at = event.get("lr"), train, val, utcnow()
    summary = {"epoch": epoch, "lr": event.get("lr"), "train": train, "val": val}
    run.latest_metrics = summary
    if _macro_f1(summary) > _macro_f1(run.best_metrics) or run.best_metrics is None:
        run.best_metrics = summary
    run.progress_epoch = epoch
    if run.steps_per_epoch:
        run.progress_step = run.steps_per_epoch
    run.progress_at = utcnow()


def _apply_checkpoint(session: Session, run_id: int, event: dict[str, Any]) -> None:
    kind = str(event["kind"])
    row = session.scalar(
        select(Checkpoint).where(Checkpoint.run_id == run_id, Checkpoint.kind == kind)
    )
    if row is None:  # one row per (run, kind); ``last`` is rewritten in place each epoch
        row = Checkpoint(run_id=run_id, kind=kind, created_at=utcnow())
        session.add(row)
    row.path = str(event["path"])
    row.sha256 = str(event["sha256"])
    row.size_bytes = int(event["size_bytes"])
    row.epoch = event.get("epoch")
    row.metrics = event.get("metrics")
    row.updated_at = utcnow()
