"""/v1/sweeps: a grid of configurations × seeds in one request."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import DispatcherDep, SessionDep, SettingsDep, mark_submitted
from api.ids import RowIdPath
from api.jobs.router import IdempotencyKey
from api.sweeps import service
from api.sweeps.schemas import SweepCreate, SweepRead

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=SweepRead)
def submit_sweep(
    payload: SweepCreate,
    session: SessionDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SweepRead:
    """Queue one job per grid point and one run per seed of each."""
    sweep, replayed = service.submit_sweep(
        session,
        dispatcher,
        payload,
        idempotency_key=idempotency_key,
        attempt_limit=settings.max_attempts,
    )
    mark_submitted(response, f"/v1/sweeps/{sweep.id}", replayed)
    return service.to_read(sweep)


@router.get("/{sweep_id}", response_model=SweepRead)
def read_sweep(sweep_id: RowIdPath, session: SessionDep) -> SweepRead:
    """A sweep with the status of every grid point's runs."""
    return service.to_read(service.get_sweep(session, sweep_id))
