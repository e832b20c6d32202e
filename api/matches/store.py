"""Live innings sessions, held in this API process's memory.

Sessions are not persisted: a restart forgets them and, with several API processes, a
client must reach the same process (sticky routing). Each holds growable columns, so
appending a delivery is O(1) amortised (cricket_gnn.inference.live).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

from api.errors import NotFoundError
from cricket_gnn.inference.live import LiveInnings

MAX_SESSIONS = 10_000


class MatchStore:
    """Id -> LiveInnings; the least recently used session goes first past MAX_SESSIONS."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self._sessions: OrderedDict[str, LiveInnings] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_sessions

    def add(self, live: LiveInnings) -> str:
        match_id = uuid.uuid4().hex
        with self._lock:
            self._sessions[match_id] = live
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
        return match_id

    def get(self, match_id: str) -> LiveInnings:
        with self._lock:
            live = self._sessions.get(match_id)
            if live is not None:
                self._sessions.move_to_end(match_id)
        if live is None:
            raise NotFoundError(
                f"Live match {match_id} does not exist (or this API process restarted).",
                hint="Start a session with POST /v1/matches and send its deliveries again.",
            )
        return live
