"""SQL for studies, their experiments (→ jobs → runs) and decisions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.db import Job, Run, Study, StudyDecision, StudyExperiment, StudyStatus


def _with_children() -> list[object]:
    return [
        selectinload(Study.experiments).selectinload(StudyExperiment.job).selectinload(Job.runs),
        selectinload(Study.decisions),
    ]


def get_study(session: Session, study_id: int, *, for_update: bool = False) -> Study | None:
    query = select(Study).where(Study.id == study_id).options(*_with_children())  # type: ignore[arg-type]
    if for_update:
        query = query.with_for_update(of=Study)
    return session.scalars(query).one_or_none()


def get_study_by_idempotency_key(session: Session, key: str) -> Study | None:
    return session.scalars(
        select(Study).where(Study.idempotency_key == key).options(*_with_children())  # type: ignore[arg-type]
    ).one_or_none()


def running_study_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Study.id).where(Study.status == StudyStatus.RUNNING).order_by(Study.id)
        ).all()
    )


def lock_running_study(session: Session, study_id: int) -> Study | None:
    """The study, locked, if it is still running and no other process holds it."""
    query = (
        select(Study)
        .where(Study.id == study_id, Study.status == StudyStatus.RUNNING)
        .with_for_update(skip_locked=True)
    )
    study = session.scalars(query).one_or_none()
    if study is None:
        return None
    return get_study(session, study_id)


def study_runs(session: Session, study_id: int) -> list[Run]:
    return list(
        session.scalars(
            select(Run).join(Job, Run.job_id == Job.id).where(Job.study_id == study_id)
        ).all()
    )


def add(session: Session, *rows: object) -> None:
    session.add_all(rows)
    session.flush()


def decided_steps(study: Study) -> set[str]:
    return {decision.step for decision in study.decisions}


def new_decision(
    study_id: int, stage: str, step: str, decision: dict[str, object]
) -> StudyDecision:
    return StudyDecision(study_id=study_id, stage=stage, step=step, decision=decision)


def list_studies(session: Session, *, limit: int, offset: int) -> tuple[list[Study], int]:
    """Studies newest first (one page) and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(Study)) or 0
    rows = session.scalars(
        select(Study).order_by(Study.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), int(total)
