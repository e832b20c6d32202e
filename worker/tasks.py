"""Thin Celery tasks: ids in, the supervisor does the work, the database holds the state."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import billiard.process
from celery import Task

from api.settings import TRAIN_RUN_TASK, get_settings
from worker.celery_app import app
from worker.supervisor import supervise

log = logging.getLogger(__name__)


def _parent_watch() -> tuple[int, bool]:
    """(parent pid, whether to watch it): only a prefork pool child has a worker parent."""
    in_pool_child = billiard.process.current_process().name != "MainProcess"
    return os.getppid(), in_pool_child


@contextmanager
def _interruptions() -> Iterator[Callable[[], str | None]]:
    """Why this task should hand its run back now, if it should (else None).

    ``preempted``: the worker is shutting down (a cold shutdown SIGTERMs the pool child;
    ``docker stop`` with REMAP_SIGTERM=SIGQUIT does the same). ``worker_gone``: the
    worker process died and left this pool child orphaned. Either way the run goes back
    to the queue at once, to resume from its last checkpoint on a live worker.
    """
    parent_pid, watch_parent = _parent_watch()
    received: list[int] = []
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main_thread else None
    if in_main_thread:
        signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))

    def interruption() -> str | None:
        if received:
            return "preempted"
        if watch_parent and os.getppid() != parent_pid:
            return "worker_gone"
        return None

    try:
        yield interruption
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        if received:  # finish dying the way the pool asked us to
            os.kill(os.getpid(), signal.SIGTERM)


@app.task(name=TRAIN_RUN_TASK, bind=True, acks_late=True, ignore_result=True)
def train_run(self: Task, run_id: int, attempt: int) -> str:
    """Train attempt ``attempt`` of run ``run_id``; a no-op unless that attempt is queued.

    Idempotent: the claim is a conditional update, so a duplicate or stale message
    (a re-publish, a redelivery after a lost worker) finds nothing to claim.
    """
    worker = self.request.hostname or socket.gethostname()
    with _interruptions() as interruption:
        outcome = supervise(
            get_settings(), run_id, attempt, worker=worker, interruption=interruption
        )
    log.info("run %s attempt %s: %s", run_id, attempt, outcome)
    return outcome
