"""Submitting jobs: one run per seed, idempotent on the client's key, published after commit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import Job, Run, RunStatus
from api.errors import ConflictError, InvalidRequestError, NotFoundError
from api.jobs import repository
from api.jobs.schemas import JobCreate, JobRead, RunBrief
from api.jobs.teachers import TeacherError, teacher_checkpoints
from api.maintenance.dispatcher import Dispatcher

#: Hyper-parameters that do not change what is learned; left out of the config hash.
_NOT_HASHED = ("seed",)


def canonical_hash(payload: Any) -> str:
    """sha256 of the canonical JSON of ``payload`` (sorted keys, no whitespace)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_hash(config: dict[str, Any]) -> str:
    """Same for every seed of one configuration, so seeds group for mean ± sd."""
    return canonical_hash({k: v for k, v in config.items() if k not in _NOT_HASHED})


def check_teachers(session: Session, run_ids: Sequence[int]) -> None:
    """422 unless every teacher run has succeeded and its best_loss checkpoint is on disk."""
    try:
        teacher_checkpoints(session, run_ids)
    except TeacherError as exc:
        raise InvalidRequestError(
            f"The request is invalid: {exc}.",
            hint="Name succeeded runs (GET /v1/runs?status=succeeded) in teacher_runs, "
            "or leave it empty.",
            errors=[{"field": "teacher_runs", "message": str(exc)}],
        ) from exc


def new_job(
    *,
    config: dict[str, Any],
    seeds: Sequence[int],
    priority: int,
    run_name: str | None,
    attempt_limit: int,
    request_hash: str,
    idempotency_key: str | None = None,
    sweep_id: int | None = None,
) -> Job:
    """A job and one queued run per seed (not yet added to a session)."""
    digest = config_hash(config)
    name = run_name or f"{config['model']}-{digest[:8]}"
    job = Job(
        sweep_id=sweep_id,
        model=config["model"],
        config=config,
        seeds=list(seeds),
        priority=priority,
        run_name=name,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    job.runs = [
        Run(
            sweep_id=sweep_id,
            seed=seed,
            model=config["model"],
            run_name=f"{name}-seed{seed}",
            priority=priority,
            nproc=config["nproc"],
            config={**config, "seed": seed},
            config_hash=digest,
            status=RunStatus.QUEUED,
            attempt=1,
            attempt_limit=attempt_limit,
            dispatch_count=0,
        )
        for seed in seeds
    ]
    return job


def submit_job(
    session: Session,
    dispatcher: Dispatcher,
    payload: JobCreate,
    *,
    idempotency_key: str | None,
    attempt_limit: int,
) -> tuple[Job, bool]:
    """Create the job (or find the one this key already made); True if it was a replay."""
    request_hash = canonical_hash(payload.model_dump(mode="json"))
    if idempotency_key:
        existing = repository.get_job_by_idempotency_key(session, idempotency_key)
        if existing is not None:
            return _replay(existing, idempotency_key, request_hash), True
    check_teachers(session, payload.teacher_runs)
    job = new_job(
        config=payload.training_config(),
        seeds=payload.seeds,
        priority=payload.priority,
        run_name=payload.run_name,
        attempt_limit=attempt_limit,
        request_hash=request_hash,
        idempotency_key=idempotency_key,
    )
    try:
        # A savepoint, so that losing a race on the same key leaves the session usable.
        with session.begin_nested():
            repository.add_job(session, job)
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = repository.get_job_by_idempotency_key(session, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, idempotency_key, request_hash), True
    dispatcher.dispatch_after_commit(session, job.runs)
    return job, False


def _replay(job: Job, key: str, request_hash: str) -> Job:
    if job.request_hash != request_hash:
        raise ConflictError(
            f"Idempotency-Key '{key}' was already used for a different request (job {job.id}).",
            hint="Send a new Idempotency-Key for a new job, or resend the original body "
            f"unchanged to get job {job.id} back.",
        )
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = repository.get_job(session, job_id)
    if job is None:
        raise NotFoundError(
            f"Job {job_id} does not exist.",
            hint="Use the id returned by POST /v1/jobs; GET /v1/runs?job_id=… lists its runs.",
        )
    return job


def job_status(statuses: Sequence[str]) -> str:
    """One word for the job: what a person watching it cares about first."""
    if any(s in (RunStatus.RUNNING, RunStatus.CANCELLING) for s in statuses):
        return RunStatus.RUNNING
    if any(s == RunStatus.QUEUED for s in statuses):
        return RunStatus.QUEUED
    if statuses and all(s == RunStatus.SUCCEEDED for s in statuses):
        return RunStatus.SUCCEEDED
    if any(s == RunStatus.FAILED for s in statuses):
        return RunStatus.FAILED
    return RunStatus.CANCELLED


def to_read(job: Job) -> JobRead:
    return JobRead(
        id=job.id,
        sweep_id=job.sweep_id,
        model=job.model,
        status=job_status([run.status for run in job.runs]),
        config=job.config,
        seeds=job.seeds,
        priority=job.priority,
        run_name=job.run_name,
        created_at=job.created_at,
        runs=[RunBrief.model_validate(run) for run in job.runs],
    )
