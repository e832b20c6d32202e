"""An independent count of a Cricsheet zip: plain zipfile + json, none of our parser."""

from __future__ import annotations

import functools
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

VAL_START, TEST_START = "2024-06-16", "2024-11-26"
NOT_OUT = {"retired hurt", "retired not out"}


@dataclass
class ArchiveCount:
    """What a careful reader of the raw files counts, per split where it matters."""

    matches: int = 0
    deliveries: int = 0
    split_matches: Counter[str] = field(default_factory=Counter)
    split_targets: Counter[str] = field(default_factory=Counter)
    split_classes: dict[str, Counter[int]] = field(default_factory=dict)


def split_of(date: str) -> str:
    """The DESIGN §2 split of an ISO date."""
    return "train" if date < VAL_START else "val" if date < TEST_START else "test"


def label_of(delivery: dict) -> int:
    """Class of one delivery, straight from the rules in DESIGN §2."""
    if any(w["kind"] not in NOT_OUT for w in delivery.get("wickets", [])):
        return 6
    runs = delivery["runs"]["batter"]
    return {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 4}.get(runs, 5)


@functools.lru_cache(maxsize=2)
def count_archive(path: Path) -> ArchiveCount:
    """Matches, deliveries, and target deliveries and classes per split."""
    count = ArchiveCount(split_classes={s: Counter() for s in ("train", "val", "test")})
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith(".json"):
                continue
            doc = json.loads(archive.read(name))
            split = split_of(doc["info"]["dates"][0])
            count.matches += 1
            count.split_matches[split] += 1
            for number, innings in enumerate(doc["innings"], start=1):
                balls = [d for over in innings.get("overs", []) for d in over["deliveries"]]
                count.deliveries += len(balls)
                if number <= 2 and not innings.get("super_over", False):
                    count.split_targets[split] += len(balls)
                    count.split_classes[split].update(label_of(d) for d in balls)
    return count
