"""SQL of the maintenance loop: which runs to publish, which runs lost their worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.db import ACTIVE_STATUSES, Run, RunStatus


def queued_runs_due_for_dispatch(
    session: Session, now: datetime, redispatch_after_s: float, limit: int = 200
) -> list[Run]:
    """Queued runs never published, or published long enough ago to publish again.

    The wait doubles with each publish of the same attempt, so a run that waits hours
    behind a busy worker gets a handful of duplicate messages, not hundreds.
    """
    earliest = now - timedelta(seconds=redispatch_after_s)
    candidates = session.scalars(
        select(Run)
        .where(Run.status == RunStatus.QUEUED)
        .where(or_(Run.dispatched_at.is_(None), Run.dispatched_at < earliest))
        .order_by(Run.priority.desc(), Run.id)
        .limit(limit)
    ).all()
    due = []
    for run in candidates:
        if run.dispatched_at is None:
            due.append(run)
            continue
        backoff = redispatch_after_s * 2 ** min(max(run.dispatch_count - 1, 0), 8)
        if run.dispatched_at + timedelta(seconds=backoff) < now:
            due.append(run)
    return due


def mark_dispatched(session: Session, run_id: int, attempt: int, now: datetime) -> None:
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.attempt == attempt, Run.status == RunStatus.QUEUED)
        .values(dispatched_at=now, dispatch_count=Run.dispatch_count + 1)
    )


def clear_dispatch(session: Session, run_id: int, attempt: int) -> None:
    """Forget a publish that failed, so the next maintenance tick sends it again."""
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.attempt == attempt, Run.status == RunStatus.QUEUED)
        .values(dispatched_at=None)
    )


def runs_with_stale_heartbeat(session: Session, cutoff: datetime) -> list[Run]:
    return list(
        session.scalars(
            select(Run)
            .where(Run.status.in_(ACTIVE_STATUSES))
            .where(or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff))
            .order_by(Run.id)
        ).all()
    )


def settle_lost_run(
    session: Session, run: Run, cutoff: datetime, values: dict[str, object]
) -> bool:
    """Apply ``values`` only if the run is still held by the same silent attempt."""
    result = session.execute(
        update(Run)
        .where(Run.id == run.id, Run.attempt == run.attempt)
        .where(Run.status.in_(ACTIVE_STATUSES))
        .where(or_(Run.heartbeat_at.is_(None), Run.heartbeat_at < cutoff))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
