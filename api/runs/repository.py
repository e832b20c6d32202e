"""SQL for runs, their per-epoch metrics and checkpoints."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from api.db import Checkpoint, Run, RunMetric


def get_run(session: Session, run_id: int, *, with_checkpoints: bool = False) -> Run | None:
    query = select(Run).where(Run.id == run_id)
    if with_checkpoints:
        query = query.options(selectinload(Run.checkpoints))
    return session.scalars(query).one_or_none()


def get_run_for_update(session: Session, run_id: int) -> Run | None:
    """Lock the row (Postgres) so a state change cannot interleave with the worker's."""
    return session.scalars(select(Run).where(Run.id == run_id).with_for_update()).one_or_none()


def _conditions(
    *, statuses: Sequence[str], model: str | None, job_id: int | None, sweep_id: int | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(Run.status.in_(statuses))
    if model is not None:
        conditions.append(Run.model == model)
    if job_id is not None:
        conditions.append(Run.job_id == job_id)
    if sweep_id is not None:
        conditions.append(Run.sweep_id == sweep_id)
    return conditions


def list_runs(
    session: Session,
    *,
    statuses: Sequence[str],
    model: str | None,
    job_id: int | None,
    sweep_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Run], int]:
    """A page of runs, newest first, and how many match in total."""
    conditions = _conditions(statuses=statuses, model=model, job_id=job_id, sweep_id=sweep_id)
    page = session.scalars(
        select(Run).where(*conditions).order_by(Run.id.desc()).limit(limit).offset(offset)
    ).all()
    total = session.scalar(select(func.count()).select_from(Run).where(*conditions))
    return list(page), int(total or 0)


def list_metrics(session: Session, run_id: int) -> list[RunMetric]:
    return list(
        session.scalars(
            select(RunMetric).where(RunMetric.run_id == run_id).order_by(RunMetric.epoch)
        ).all()
    )


def update_run(session: Session, run_id: int, expected_status: str, **values: object) -> bool:
    """Change the run only if it is still in ``expected_status``; True if it was."""
    result = session.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == expected_status)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


def forget_progress(session: Session, run_id: int) -> None:
    """Drop metrics and checkpoint rows so a fresh start does not inherit them."""
    session.execute(delete(RunMetric).where(RunMetric.run_id == run_id))
    session.execute(delete(Checkpoint).where(Checkpoint.run_id == run_id))
