"""SQL for jobs and the runs they create."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.db import Job


def get_job(session: Session, job_id: int) -> Job | None:
    return session.scalars(
        select(Job).where(Job.id == job_id).options(selectinload(Job.runs))
    ).one_or_none()


def get_job_by_idempotency_key(session: Session, key: str) -> Job | None:
    return session.scalars(
        select(Job).where(Job.idempotency_key == key).options(selectinload(Job.runs))
    ).one_or_none()


def add_job(session: Session, job: Job) -> Job:
    """Insert the job and its runs; ids are assigned by the flush."""
    session.add(job)
    session.flush()
    return job
