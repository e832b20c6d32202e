"""Following the trainer's progress.jsonl while rank 0 appends to it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ProgressTail:
    """Returns the complete JSON lines added since the last read.

    A line is only parsed once its newline is there: rank 0 may be mid-write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read_new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        events = []
        for line in lines:
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                log.warning("skipping a malformed progress line in %s: %r", self.path, line[:200])
                continue
            if isinstance(event, dict) and "event" in event:
                events.append(event)
        return events
