"""Publishing queued runs: right after a commit, and again from the maintenance loop."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from api.broker import Broker, RunMessage
from api.db import Run, SessionFactory, after_commit, transaction, utcnow
from api.maintenance import repository

log = logging.getLogger(__name__)


class Dispatcher:
    """Sends ``(run_id, attempt)`` messages; the database remembers what was not sent."""

    def __init__(self, broker: Broker, session_factory: SessionFactory) -> None:
        self.broker = broker
        self.session_factory = session_factory

    def dispatch_after_commit(self, session: Session, runs: Iterable[Run]) -> None:
        """Stamp the runs as dispatched in this transaction, publish once it commits.

        Publishing before the commit could start a worker on a run it cannot see yet;
        a publish that fails after the commit un-stamps the run for the next tick.
        """
        now = utcnow()
        messages = []
        for run in runs:
            run.dispatched_at = now
            run.dispatch_count = 1
            messages.append(RunMessage(run_id=run.id, attempt=run.attempt, priority=run.priority))
        after_commit(session, lambda: self._publish_all(messages))

    def _publish_all(self, messages: list[RunMessage]) -> None:
        failed = []
        for index, message in enumerate(messages):
            if not self.broker.publish(message):
                failed = messages[index:]  # the broker is down: don't try the rest now
                break
        if failed:
            with transaction(self.session_factory) as session:
                for message in failed:
                    repository.clear_dispatch(session, message.run_id, message.attempt)

    def dispatch_due(self, session: Session) -> int:
        """Publish queued runs never sent or sent too long ago; returns how many went out."""
        now = utcnow()
        due = repository.queued_runs_due_for_dispatch(
            session, now, self.broker.settings.redispatch_after_s
        )
        sent = 0
        for run in due:
            message = RunMessage(run_id=run.id, attempt=run.attempt, priority=run.priority)
            if not self.broker.publish(message):
                break  # retry on the next tick rather than hammering a dead broker
            repository.mark_dispatched(session, run.id, run.attempt, now)
            sent += 1
        if sent:
            log.info("dispatched %d queued run(s)", sent)
        return sent
