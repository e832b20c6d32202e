"""/v1/runs: status, progress, metrics, logs, cancel and retry of single runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from api.db import RunStatus
from api.deps import DispatcherDep, SessionDep, SettingsDep
from api.ids import MAX_ROW_ID, RowIdPath, RowIdQuery
from api.jobs.schemas import ModelVariant
from api.runs import service
from api.runs.schemas import RunLogsRead, RunMetricsRead, RunPage, RunRead, RunRetry

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.get("", response_model=RunPage)
def list_runs(
    session: SessionDep,
    status_filter: Annotated[
        list[RunStatus] | None, Query(alias="status", description="Repeat to match several.")
    ] = None,
    model: ModelVariant | None = None,
    job_id: RowIdQuery = None,
    sweep_id: RowIdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> RunPage:
    """Runs, newest first, filtered by status, model, job or sweep."""
    return service.list_runs(
        session,
        statuses=[str(s) for s in status_filter or []],
        model=model,
        job_id=job_id,
        sweep_id=sweep_id,
        limit=limit,
        offset=offset,
    )


@router.get("/{run_id}", response_model=RunRead)
def read_run(run_id: RowIdPath, session: SessionDep) -> RunRead:
    """Status, progress (epoch/step, samples/s, ETA), latest/best/final metrics, checkpoints."""
    return service.to_read(service.get_run(session, run_id, with_checkpoints=True))


@router.get("/{run_id}/metrics", response_model=RunMetricsRead)
def read_run_metrics(run_id: RowIdPath, session: SessionDep) -> RunMetricsRead:
    """The per-epoch series: learning rate, train loss, validation metrics."""
    return service.run_metrics(session, run_id)


@router.get("/{run_id}/logs", response_model=RunLogsRead)
def read_run_logs(
    run_id: RowIdPath,
    session: SessionDep,
    settings: SettingsDep,
    lines: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> RunLogsRead:
    """The end of the trainer's output (stdout + stderr of every rank)."""
    return service.run_logs(session, settings.run_dir(run_id), run_id, lines)


@router.post("/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=RunRead)
def cancel_run(run_id: RowIdPath, session: SessionDep, dispatcher: DispatcherDep) -> RunRead:
    """Stop the run: at once if queued, within seconds (every rank) if running."""
    run = service.cancel_run(session, dispatcher, run_id)
    return service.to_read(service.get_run(session, run.id, with_checkpoints=True))


@router.post("/{run_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=RunRead)
def retry_run(
    run_id: RowIdPath,
    session: SessionDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    options: Annotated[RunRetry | None, Body()] = None,
) -> RunRead:
    """Queue a failed or cancelled run again (a new attempt, from its last checkpoint)."""
    resume = options.resume if options else True
    run = service.retry_run(
        session, dispatcher, run_id, resume=resume, max_attempts=settings.max_attempts
    )
    return service.to_read(service.get_run(session, run.id, with_checkpoints=True))
