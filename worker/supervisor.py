"""One attempt of one run: claim it, run torchrun, report progress, settle the outcome.

No database transaction is held while training; the loop below wakes twice a second,
forwards new progress events, refreshes the heartbeat and looks for a cancel request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from api.db import RunStatus, utcnow
from api.jobs.teachers import TeacherError
from api.settings import Settings
from worker.command import train_command
from worker.processes import ATTEMPT_ENV, RUN_DIR_ENV, RUN_ID_ENV, launch, stop_run
from worker.progress import ProgressTail
from worker.store import ClaimedRun, LostClaimError, RunStore, session_factory

log = logging.getLogger(__name__)

LOG_NAME = "train.log"
_POLL_S = 0.5
_ERROR_LINES = 20
#: torchrun's line when a rank fails; the rank's own output comes before it.
_AGENT_FAILURE = re.compile(r"\] failed \(exitcode: (-?\d+)\) local_rank: (\d+)")


def supervise(
    settings: Settings,
    run_id: int,
    attempt: int,
    *,
    worker: str,
    interruption: Callable[[], str | None] = lambda: None,
) -> str:
    """Run one attempt to its end; returns the outcome (or ``skipped`` if not claimable)."""
    store = RunStore(session_factory(settings), run_id, attempt, worker)
    claimed = store.claim()
    if claimed is None:
        log.info("run %s attempt %s is not queued for this attempt; nothing to do", run_id, attempt)
        return "skipped"
    run_dir = settings.run_dir(run_id)
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    # A process of an earlier attempt (this worker's predecessor on this machine) must
    # not keep writing into the checkpoint folder the new attempt resumes from.
    stop_run(run_id, None, grace_s=settings.stop_grace_s, run_dir=run_dir)
    try:
        _record_unreported(store, run_dir, attempt)
    except LostClaimError:
        return "lost"
    resume = store.resume_checkpoint() if attempt > 1 else None
    try:
        teachers = store.teacher_checkpoints(list(claimed.config.get("teacher_runs", [])))
    except TeacherError as exc:
        store.finish(RunStatus.FAILED, error=f"cannot distil: {exc}")
        return "failed"
    progress_path = run_dir / f"progress-attempt{attempt}.jsonl"
    progress_path.unlink(missing_ok=True)
    command = train_command(
        settings,
        claimed.config,
        run_name=claimed.run_name,
        nproc=claimed.nproc,
        output_dir=run_dir,
        progress_file=progress_path,
        resume=resume,
        teachers=teachers,
    )
    env = os.environ | {
        RUN_ID_ENV: str(run_id),
        RUN_DIR_ENV: str(run_dir),
        ATTEMPT_ENV: str(attempt),
        "PYTHONUNBUFFERED": "1",
        "WANDB_MODE": settings.wandb_mode,
        "WANDB_DIR": str(run_dir),
    }
    log_path = run_dir / LOG_NAME
    with log_path.open("ab") as log_file:
        header = f"\n=== attempt {attempt} on {worker} at {utcnow().isoformat()} ===\n"
        log_file.write(header.encode() + (" ".join(command) + "\n").encode())
        log_file.flush()
        log_offset = log_file.tell()
        try:
            process = launch(
                command, cwd=settings.trainer_script.parent, env=env, log_file=log_file
            )
        except OSError as exc:
            store.finish(RunStatus.FAILED, error=f"could not start torchrun: {exc}")
            return "failed"
    try:
        store.heartbeat(launched_at=utcnow(), resumed_from=str(resume) if resume else None)
    except LostClaimError:
        stop_run(run_id, process, grace_s=settings.stop_grace_s, run_dir=run_dir)
        return "lost"
    log.info("run %s attempt %s: torchrun pid %s (resume=%s)", run_id, attempt, process.pid, resume)
    return _follow(
        settings, store, claimed, process, progress_path, log_path, log_offset, interruption
    )


def _record_unreported(store: RunStore, run_dir: Path, attempt: int) -> None:
    """Record the epochs and checkpoints earlier attempts wrote but never reported.

    A worker that died (SIGKILL, a frozen host) may leave an epoch trained and its
    ``last`` checkpoint saved with the events still unread in its progress file; the
    resumed attempt starts after that epoch, so without this its metrics would never
    reach the run. Both kinds of row are upserts: replaying reported events is harmless.
    """
    events = []
    for earlier in range(1, attempt):
        tail = ProgressTail(run_dir / f"progress-attempt{earlier}.jsonl")
        events += [e for e in tail.read_new() if e["event"] in ("epoch", "checkpoint")]
    if events:
        store.apply_events(events)


def _follow(
    settings: Settings,
    store: RunStore,
    claimed: ClaimedRun,
    process: subprocess.Popen[bytes],
    progress_path: Path,
    log_path: Path,
    log_offset: int,
    interruption: Callable[[], str | None],
) -> str:
    run_dir = settings.run_dir(claimed.run_id)
    tail = ProgressTail(progress_path)
    finished_event: dict[str, Any] | None = None
    stop_reason: str | None = None
    next_beat = 0.0
    while True:
        events = tail.read_new()
        finished_event = next((e for e in events if e["event"] == "finished"), finished_event)
        try:
            if events:
                store.apply_events(events)
            if time.monotonic() >= next_beat:
                if store.heartbeat() == RunStatus.CANCELLING:
                    stop_reason = "cancelled"
                next_beat = time.monotonic() + settings.heartbeat_interval_s
        except LostClaimError:
            stop_reason = "lost"
        except SQLAlchemyError as exc:  # keep training through a database hiccup
            log.warning("run %s: database write failed, will retry: %s", claimed.run_id, exc)
        stop_reason = stop_reason or interruption()
        if stop_reason is not None or process.poll() is not None:
            break
        time.sleep(_POLL_S)

    if stop_reason is not None:
        stop_run(claimed.run_id, process, grace_s=settings.stop_grace_s, run_dir=run_dir)
    exit_code = process.wait()
    # Whatever rank 0 wrote last (final checkpoint, "finished"), and no straggler left.
    stop_run(claimed.run_id, None, grace_s=1.0, run_dir=run_dir)
    if stop_reason == "lost":
        log.warning(
            "run %s attempt %s: claim lost; training stopped", claimed.run_id, store.attempt
        )
        return stop_reason
    events = tail.read_new()
    finished_event = next((e for e in events if e["event"] == "finished"), finished_event)
    try:
        if events:  # the last checkpoint rows first: a resumed attempt starts from them
            store.apply_events(events)
        if stop_reason in ("preempted", "worker_gone"):
            store.hand_back(
                f"the worker {'is shutting down' if stop_reason == 'preempted' else 'died'}"
            )
            return stop_reason
    except LostClaimError:
        return "lost"
    if stop_reason == "cancelled":
        store.finish(
            RunStatus.CANCELLED,
            status_reason="cancelled by request; every rank was stopped",
            exit_code=exit_code,
        )
        return "cancelled"
    if exit_code == 0:
        final = None if finished_event else _read_metrics_file(progress_path.parent, claimed)
        extra = {"final_metrics": final} if final is not None else {}
        store.finish(RunStatus.SUCCEEDED, status_reason="training finished", exit_code=0, **extra)
        return "succeeded"
    reason = _log_tail(log_path, log_offset)
    store.finish(
        RunStatus.FAILED,
        status_reason=f"torchrun exited with code {exit_code}",
        error=reason or f"torchrun exited with code {exit_code} and printed nothing",
        exit_code=exit_code,
    )
    return "failed"


def _read_metrics_file(output_dir: Path, claimed: ClaimedRun) -> dict[str, Any] | None:
    """The trainer's final metrics JSON, when no ``finished`` event reached us."""
    for path in (
        output_dir / "metrics.json",
        output_dir / "checkpoints" / f"metrics_{claimed.run_name}.json",
    ):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return {key: data.get(key) for key in ("val", "test")} | {"metrics_path": str(path)}
    return None


def _log_tail(log_path: Path, offset: int) -> str:
    """Why the attempt failed: the ranks' last lines, not torchrun's own traceback."""
    try:
        with log_path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(offset, size - 256 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        failure = _AGENT_FAILURE.search(line)
        if failure:
            # Everything before torchrun's report is what the ranks printed.
            rank_lines = [kept for kept in lines[:index] if kept.strip()]
            summary = f"(rank {failure.group(2)} exited with code {failure.group(1)})"
            return "\n".join([*rank_lines[-_ERROR_LINES:], summary])
    return "\n".join([kept for kept in lines if kept.strip()][-_ERROR_LINES:])
