"""Caches of derived files kept to a bounded size: the most recently used entries stay.

An entry is one or more files (a table, a pair of exported graphs). Its last use is the
newest modification time among its files: a reader that finds an entry calls `touch`,
a writer's new files are newest anyway. Several processes may share a cache directory,
so a file that vanished or cannot be removed is left to whoever holds it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


def touch(paths: Iterable[Path]) -> None:
    """Mark the entry of `paths` as used now."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.utime(path)


def prune_least_recently_used(entries: Mapping[str, Sequence[Path]], keep: int) -> list[Path]:
    """Delete the files of every entry but the `keep` most recently used; returns them."""
    last_used = []
    for name, paths in entries.items():
        times = []
        for path in paths:
            with contextlib.suppress(OSError):
                times.append(path.stat().st_mtime)
        last_used.append((max(times, default=0.0), name))
    last_used.sort(reverse=True)
    removed = []
    for _, name in last_used[keep:]:
        for path in entries[name]:
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
