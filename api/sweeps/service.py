"""Submitting sweeps: one job per grid point, one run per seed, all published after commit."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import Sweep
from api.errors import ConflictError, NotFoundError
from api.jobs.schemas import RunBrief
from api.jobs.service import canonical_hash, check_teachers, job_status, new_job
from api.maintenance.dispatcher import Dispatcher
from api.sweeps import repository
from api.sweeps.schemas import SweepCreate, SweepPoint, SweepRead


def submit_sweep(
    session: Session,
    dispatcher: Dispatcher,
    payload: SweepCreate,
    *,
    idempotency_key: str | None,
    attempt_limit: int,
) -> tuple[Sweep, bool]:
    """Create the sweep's jobs and runs (or return the sweep this key made); True on replay."""
    request_hash = canonical_hash(payload.model_dump(mode="json"))
    if idempotency_key:
        existing = repository.get_sweep_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return _replay(existing, idempotency_key, request_hash), True
    sweep = Sweep(
        name=payload.name,
        base_config=payload.base,
        grid=payload.grid,
        seeds=payload.seeds,
        priority=payload.priority,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    jobs = []
    for point, config in payload.points():
        check_teachers(session, config["teacher_runs"])
        suffix = "-".join(f"{name}{value}" for name, value in point.items())
        jobs.append(
            new_job(
                config=config,
                seeds=payload.seeds,
                priority=payload.priority,
                run_name=f"{payload.name}-{suffix}"[:100] if payload.name else None,
                attempt_limit=attempt_limit,
                request_hash=canonical_hash(config),
            )
        )
    try:
        with session.begin_nested():
            repository.add_sweep(session, sweep, jobs)
    except IntegrityError:
        existing = (
            repository.get_sweep_by_idempotency_key(session, idempotency_key)
            if idempotency_key
            else None
        )
        if existing is None:
            raise
        return _replay(existing, idempotency_key or "", request_hash), True
    dispatcher.dispatch_after_commit(session, [run for job in jobs for run in job.runs])
    return sweep, False


def _replay(sweep: Sweep, key: str, request_hash: str) -> Sweep:
    if sweep.request_hash != request_hash:
        raise ConflictError(
            f"Idempotency-Key '{key}' was already used for a different request (sweep {sweep.id}).",
            hint=f"Send a new Idempotency-Key for a new sweep, or resend the original body "
            f"unchanged to get sweep {sweep.id} back.",
        )
    return sweep


def get_sweep(session: Session, sweep_id: int) -> Sweep:
    sweep = repository.get_sweep(session, sweep_id)
    if sweep is None:
        raise NotFoundError(
            f"Sweep {sweep_id} does not exist.",
            hint="Use the id returned by POST /v1/sweeps.",
        )
    return sweep


def to_read(sweep: Sweep) -> SweepRead:
    points = [
        SweepPoint(
            job_id=job.id,
            grid_point={name: job.config.get(name) for name in sweep.grid},
            status=job_status([run.status for run in job.runs]),
            runs=[RunBrief.model_validate(run) for run in job.runs],
        )
        for job in sweep.jobs
    ]
    return SweepRead(
        id=sweep.id,
        name=sweep.name,
        status=job_status([run.status for point in points for run in point.runs]),
        base=sweep.base_config,
        grid=sweep.grid,
        seeds=sweep.seeds,
        priority=sweep.priority,
        created_at=sweep.created_at,
        run_count=sum(len(point.runs) for point in points),
        points=points,
    )
