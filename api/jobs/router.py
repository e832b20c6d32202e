"""/v1/jobs: submit a configuration × seeds, read it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from api.deps import DispatcherDep, SessionDep, SettingsDep, mark_submitted
from api.ids import RowIdPath
from api.jobs import service
from api.jobs.schemas import JobCreate, JobRead

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Resending a request with the same key returns the job it created.",
    ),
]


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobRead)
def submit_job(
    payload: JobCreate,
    session: SessionDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobRead:
    """Queue one training run per seed; training starts when a worker picks it up."""
    job, replayed = service.submit_job(
        session,
        dispatcher,
        payload,
        idempotency_key=idempotency_key,
        attempt_limit=settings.max_attempts,
    )
    mark_submitted(response, f"/v1/jobs/{job.id}", replayed)
    return service.to_read(job)


@router.get("/{job_id}", response_model=JobRead)
def read_job(job_id: RowIdPath, session: SessionDep) -> JobRead:
    """A job with the status of each of its runs."""
    return service.to_read(service.get_job(session, job_id))
