"""SQL for sweeps."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.db import Job, Sweep


def get_sweep(session: Session, sweep_id: int) -> Sweep | None:
    return session.scalars(
        select(Sweep)
        .where(Sweep.id == sweep_id)
        .options(selectinload(Sweep.jobs).selectinload(Job.runs))
    ).one_or_none()


def get_sweep_by_idempotency_key(session: Session, key: str) -> Sweep | None:
    return session.scalars(
        select(Sweep)
        .where(Sweep.idempotency_key == key)
        .options(selectinload(Sweep.jobs).selectinload(Job.runs))
    ).one_or_none()


def add_sweep(session: Session, sweep: Sweep, jobs: list[Job]) -> Sweep:
    session.add(sweep)
    session.flush()
    sweep.jobs = jobs
    for job in jobs:
        for run in job.runs:
            run.sweep_id = sweep.id
    session.flush()
    return sweep
