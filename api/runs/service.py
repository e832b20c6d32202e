"""Reading runs, and the two state changes a user may ask for: cancel and retry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from api.broker import RunMessage
from api.db import Run, RunStatus, after_commit, utcnow
from api.errors import ConflictError, NotFoundError
from api.maintenance.dispatcher import Dispatcher
from api.runs import repository
from api.runs.schemas import (
    CheckpointRead,
    EpochMetrics,
    RunLogsRead,
    RunMetricsRead,
    RunPage,
    RunProgress,
    RunRead,
    RunSummary,
)

LOG_NAME = "train.log"
_MAX_LOG_BYTES = 4 * 1024 * 1024


def get_run(session: Session, run_id: int, *, with_checkpoints: bool = False) -> Run:
    run = repository.get_run(session, run_id, with_checkpoints=with_checkpoints)
    if run is None:
        raise _run_not_found(run_id)
    return run


def _run_not_found(run_id: int) -> NotFoundError:
    return NotFoundError(
        f"Run {run_id} does not exist.",
        hint="GET /v1/runs lists runs (filter by job_id, sweep_id, status or model).",
    )


def list_runs(
    session: Session,
    *,
    statuses: Sequence[str],
    model: str | None,
    job_id: int | None,
    sweep_id: int | None,
    limit: int,
    offset: int,
) -> RunPage:
    runs, total = repository.list_runs(
        session,
        statuses=statuses,
        model=model,
        job_id=job_id,
        sweep_id=sweep_id,
        limit=limit,
        offset=offset,
    )
    return RunPage(items=[to_summary(run) for run in runs], total=total, limit=limit, offset=offset)


def run_metrics(session: Session, run_id: int) -> RunMetricsRead:
    get_run(session, run_id)
    rows = repository.list_metrics(session, run_id)
    return RunMetricsRead(run_id=run_id, epochs=[EpochMetrics.model_validate(r) for r in rows])


def run_logs(session: Session, run_dir: Path, run_id: int, lines: int) -> RunLogsRead:
    """The last ``lines`` lines of the run's trainer log (every attempt, appended)."""
    run = get_run(session, run_id)
    path = run_dir / LOG_NAME
    tail, truncated = _tail(path, lines)
    return RunLogsRead(
        run_id=run_id, attempt=run.attempt, path=str(path), lines=tail, truncated=truncated
    )


def _tail(path: Path, lines: int) -> tuple[list[str], bool]:
    if not path.is_file():
        return [], False
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        block, data = 64 * 1024, b""
        position = size
        # Read backwards until there are enough newlines; logs can be large.
        while position > 0 and data.count(b"\n") <= lines and len(data) < _MAX_LOG_BYTES:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    text = data.decode("utf-8", errors="replace").splitlines()
    truncated = position > 0 or len(text) > lines
    return text[-lines:], truncated


def cancel_run(session: Session, dispatcher: Dispatcher, run_id: int) -> Run:
    """Queued → cancelled at once; running → cancelling until the worker stops every rank."""
    run = repository.get_run_for_update(session, run_id)
    if run is None:
        raise _run_not_found(run_id)
    now = utcnow()
    if run.status == RunStatus.QUEUED:
        changed = repository.update_run(
            session,
            run_id,
            RunStatus.QUEUED,
            status=RunStatus.CANCELLED,
            status_reason="cancelled by request before a worker started it",
            cancel_requested_at=now,
            finished_at=now,
        )
        message = RunMessage(run_id=run.id, attempt=run.attempt, priority=run.priority)
        after_commit(session, lambda: dispatcher.broker.revoke(message.task_id))
    elif run.status == RunStatus.RUNNING:
        changed = repository.update_run(
            session,
            run_id,
            RunStatus.RUNNING,
            status=RunStatus.CANCELLING,
            status_reason="cancel requested; the worker is stopping every rank",
            cancel_requested_at=now,
        )
    elif run.status == RunStatus.CANCELLING:
        return run
    else:
        raise ConflictError(
            f"Run {run_id} has already {run.status}; there is nothing to cancel.",
            hint=f"POST /v1/runs/{run_id}/retry runs a failed or cancelled run again.",
        )
    if not changed:  # the worker moved it on between our read and our write
        session.refresh(run)
        return cancel_run(session, dispatcher, run_id)
    session.refresh(run)
    return run


def retry_run(
    session: Session, dispatcher: Dispatcher, run_id: int, *, resume: bool, max_attempts: int
) -> Run:
    """Queue a failed or cancelled run again as a new attempt, by default from its checkpoint."""
    run = repository.get_run_for_update(session, run_id)
    if run is None:
        raise _run_not_found(run_id)
    if run.status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        hint = (
            "Submit a new job (POST /v1/jobs) to train this configuration again."
            if run.status == RunStatus.SUCCEEDED
            else f"Wait for it to finish, or cancel it first (POST /v1/runs/{run_id}/cancel)."
        )
        raise ConflictError(
            f"Run {run_id} is {run.status}; only failed or cancelled runs can be retried.",
            hint=hint,
        )
    fresh: dict[str, object] = {}
    if not resume:
        repository.forget_progress(session, run_id)
        fresh = {"resumed_from": None, "latest_metrics": None, "best_metrics": None}
    attempt = run.attempt + 1
    origin = "its last checkpoint" if resume else "scratch"
    changed = repository.update_run(
        session,
        run_id,
        run.status,
        status=RunStatus.QUEUED,
        status_reason=f"retried by request as attempt {attempt}, starting from {origin}",
        attempt=attempt,
        attempt_limit=attempt + max_attempts - 1,
        worker=None,
        heartbeat_at=None,
        error=None,
        exit_code=None,
        final_metrics=None,
        finished_at=None,
        cancel_requested_at=None,
        queued_at=utcnow(),
        dispatch_count=0,
        **fresh,
    )
    if not changed:
        raise ConflictError(
            f"Run {run_id} changed while retrying it.", hint="Read it again and retry if needed."
        )
    session.refresh(run)
    dispatcher.dispatch_after_commit(session, [run])
    return run


def _progress(run: Run) -> RunProgress:
    fraction = None
    if run.epochs_total and run.progress_epoch is not None:
        done = float(max(run.progress_epoch - 1, 0))
        if run.steps_per_epoch and run.progress_step is not None:
            done += min(run.progress_step / run.steps_per_epoch, 1.0)
        fraction = min(done / run.epochs_total, 1.0)
    if run.status == RunStatus.SUCCEEDED:
        fraction = 1.0
    return RunProgress(
        epoch=run.progress_epoch,
        epochs=run.epochs_total,
        step=run.progress_step,
        steps_per_epoch=run.steps_per_epoch,
        fraction_done=fraction,
        samples_per_s=run.samples_per_s,
        eta_s=run.eta_s,
        train_loss=run.train_loss,
        start_epoch=run.start_epoch,
        world_size=run.world_size,
        device=run.device,
        updated_at=run.progress_at,
    )


def _summary_fields(run: Run) -> dict[str, object]:
    return {
        name: getattr(run, name)
        for name in RunSummary.model_fields
        if name != "progress" and hasattr(run, name)
    }


def to_summary(run: Run) -> RunSummary:
    return RunSummary(**_summary_fields(run), progress=_progress(run))  # type: ignore[arg-type]


def to_read(run: Run) -> RunRead:
    return RunRead(
        **_summary_fields(run),  # type: ignore[arg-type]
        progress=_progress(run),
        config=run.config,
        data_version=run.data_version,
        code_version=run.code_version,
        queued_at=run.queued_at,
        launched_at=run.launched_at,
        resumed_from=run.resumed_from,
        latest_metrics=run.latest_metrics,
        best_metrics=run.best_metrics,
        final_metrics=run.final_metrics,
        checkpoints=[CheckpointRead.model_validate(c) for c in run.checkpoints],
        error=run.error,
        exit_code=run.exit_code,
        links={
            "self": f"/v1/runs/{run.id}",
            "metrics": f"/v1/runs/{run.id}/metrics",
            "logs": f"/v1/runs/{run.id}/logs",
            "job": f"/v1/jobs/{run.job_id}",
        },
    )
