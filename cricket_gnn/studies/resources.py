"""The guide's resource tables from `bench/train.py --json PATH` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EPOCH_SIZES = {"10K": 1e4, "100K": 1e5, "1M": 1e6}


def resource_tables(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Memory per (variant, hidden) and epoch time per dataset size from bench rows."""
    memory: dict[str, dict[str, float]] = {}
    epoch_time: dict[str, dict[str, float]] = {}
    for row in rows:
        memory.setdefault(row["variant"], {})[str(row["hidden"])] = float(row["peak_rss_mb"])
        if int(row["hidden"]) == 128 and row.get("train_64"):
            epoch_time[row["variant"]] = {
                size: n / float(row["train_64"]) for size, n in EPOCH_SIZES.items()
            }
    return {"memory": memory, "epoch_time_s": epoch_time}


def load_resources(path: Path) -> dict[str, Any] | None:
    """The measured tables, or None (the report then says 'not measured')."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return {**{k: v for k, v in data.items() if k != "rows"}, **resource_tables(data["rows"])}
