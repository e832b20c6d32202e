"""Publishing run nudges to the training queue.

A message carries only ``(run_id, attempt)``; the database says what to do. A failed
publish is not an error for the caller: the run stays queued with no dispatch time and
the maintenance loop publishes it again once the broker is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import Celery

from api.settings import TRAIN_RUN_TASK, TRAINING_QUEUE, Settings

log = logging.getLogger(__name__)

# Fail fast: the database keeps the run, so there is nothing to gain by blocking a
# request while the broker is away. One quick retry absorbs a stale pooled connection.
_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.2}


@dataclass(frozen=True, kw_only=True)
class RunMessage:
    run_id: int
    attempt: int
    priority: int

    @property
    def task_id(self) -> str:
        # Deterministic, so a duplicate publish of one attempt is one task to Celery.
        return f"run-{self.run_id}-attempt-{self.attempt}"


class Broker:
    """A publish-only Celery client for the training queue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.celery = Celery("cricket_gnn_api", set_as_current=False)
        self.celery.conf.update(settings.celery_config())

    def publish(self, message: RunMessage) -> bool:
        """Send one message; False (logged) if the broker cannot be reached."""
        try:
            self.celery.send_task(
                TRAIN_RUN_TASK,
                args=[message.run_id, message.attempt],
                task_id=message.task_id,
                queue=TRAINING_QUEUE,
                # Our priority is 0..9 with 9 most urgent; Redis serves 0 first.
                priority=9 - message.priority,
                retry=True,
                retry_policy=_RETRY_POLICY,
            )
        except Exception as exc:  # kombu raises OperationalError and transport errors
            log.warning("broker unreachable, run %s stays queued: %s", message.run_id, exc)
            return False
        return True

    def revoke(self, task_id: str) -> None:
        """Best effort: a worker drops a revoked message unopened (the DB decides anyway)."""
        try:
            self.celery.control.revoke(task_id)
        except Exception as exc:
            log.info("could not broadcast revoke of %s: %s", task_id, exc)

    def ping(self) -> None:
        """Raise if the broker cannot be reached within a couple of seconds."""
        if self.settings.is_filesystem_broker():
            folder = self.settings.broker_folder / "queue"
            if not folder.is_dir():
                raise ConnectionError(f"broker folder {folder} does not exist")
            return
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            channel = connection.default_channel
            client = getattr(channel, "client", None)
            if client is not None and hasattr(client, "ping"):
                client.ping()

    def close(self) -> None:
        self.celery.close()
