"""Who a verified key is, and a short-lived cache of verified keys.

Predictions are the hot path: without the cache each one would add a database round
trip for its key. A revocation is seen at once by the process that made it and within
``auth_cache_s`` by the others; an unknown key is never cached, so it always costs a
lookup and is always refused.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

#: Cached keys per process; far more than a deployment has, so eviction is a rare reset.
MAX_CACHED_KEYS = 4096


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is calling: the key's id, name, shown prefix and scopes."""

    key_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]


class PrincipalCache:
    """key hash -> (principal, verified at) for ``ttl_s`` seconds (0 = no caching)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or time.monotonic() - entry[1] > self.ttl_s:
            return None
        return entry[0]

    def put(self, key_hash: str, principal: Principal) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_CACHED_KEYS:
                self._entries.clear()
            self._entries[key_hash] = (principal, time.monotonic())

    def forget(self, key_id: int) -> None:
        """Drop a key (after it was revoked) so its next request is checked again."""
        with self._lock:
            self._entries = {h: e for h, e in self._entries.items() if e[0].key_id != key_id}
