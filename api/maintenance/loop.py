"""A background thread in the API process: reap lost runs, publish undelivered ones."""

from __future__ import annotations

import logging
import threading

from api.db import SessionFactory, transaction
from api.maintenance.dispatcher import Dispatcher
from api.maintenance.service import reap_lost_runs
from api.settings import Settings
from api.studies.service import advance_studies

log = logging.getLogger(__name__)


class MaintenanceLoop:
    """Runs one maintenance tick every ``maintenance_interval_s`` until stopped.

    Every step is a conditional update, so several API replicas may run it at once.
    """

    def __init__(
        self, settings: Settings, session_factory: SessionFactory, dispatcher: Dispatcher
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.dispatcher = dispatcher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def tick(self) -> None:
        """Reap first, so a re-queued run is published in the same tick."""
        with transaction(self.session_factory) as session:
            reap_lost_runs(session, self.settings.heartbeat_timeout_s)
        with transaction(self.session_factory) as session:
            self.dispatcher.dispatch_due(session)
        # Studies whose runs have all finished: decide, then queue the next experiments.
        advance_studies(self.session_factory, self.dispatcher, self.settings.max_attempts)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the loop
                log.exception("maintenance tick failed; trying again next tick")
            self._stop.wait(self.settings.maintenance_interval_s)
