"""A few real matches from each split of the shared archive, as a tiny Cricsheet zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

VAL_START, TEST_START = "2024-06-16", "2024-11-26"


def _split(date: str) -> str:
    return "train" if date < VAL_START else "val" if date < TEST_START else "test"


def write_small_archive(source: Path, target: Path, counts: dict[str, int] | None = None) -> Path:
    """Copy the newest complete two-innings matches of each split into `target` (a zip).

    Newest first by Cricsheet id, so the test and val splits fill up after a few dozen
    files instead of parsing the whole archive.
    """
    wanted = dict(counts or {"train": 10, "val": 4, "test": 4})
    picked: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(source) as archive:
        names = [n for n in archive.namelist() if n.endswith(".json") and n[:-5].isdigit()]
        for name in sorted(names, key=lambda n: int(n[:-5]), reverse=True):
            raw = archive.read(name)
            info = json.loads(raw)
            innings = [i for i in info.get("innings", []) if not i.get("super_over")]
            split = _split(info["info"]["dates"][0])
            if len(innings) != 2 or wanted.get(split, 0) == 0:
                continue
            picked.append((name, raw))
            wanted[split] -= 1
            if not any(wanted.values()):
                break
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("README.txt", "A few matches of each split, for study tests.\n")
        for name, raw in picked:
            out.writestr(name, raw)
    return target
