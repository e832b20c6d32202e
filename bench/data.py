"""Data pipeline benchmark: import, cached load, graph batching, memory, cache size.

    python bench/data.py [--data PATH]

Prints a Markdown table with the issue's targets beside each number. Not a test: it
never fails on a time, it reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cricket_gnn.data import build_dataset, load_archive
from cricket_gnn.graphs import HeteroDataBuilder, InningsBatcher

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/t20s_male_json.zip"


def _seconds(start: float) -> float:
    return time.perf_counter() - start


def _graph_throughput(builder: HeteroDataBuilder, batch_size: int) -> tuple[float, int, int]:
    """(target deliveries/s, batches, deliveries) building every train batch once."""
    dataset = builder.dataset
    assert dataset is not None
    lengths = np.diff(dataset.innings_ptr)
    batcher = InningsBatcher(dataset.split_innings("train"), lengths, batch_size, shuffle=True)
    batches = batcher.batches()
    deliveries = 0
    start = time.perf_counter()
    for innings in batches:
        graph = builder.build_innings(innings)  # keep it: a node store only weakly refs it
        deliveries += graph["query"].num_nodes
    return deliveries / _seconds(start), len(batches), deliveries


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(path: Path) -> list[tuple[str, str, str, bool | None]]:
    """Measure everything; rows of (metric, value, target, target met)."""
    rows: list[tuple[str, str, str, bool | None]] = []
    with tempfile.TemporaryDirectory(prefix="cricket-gnn-bench-") as tmp:
        cache = Path(tmp)
        start = time.perf_counter()
        table = load_archive(path, cache_dir=cache)
        import_s = _seconds(start)
        start = time.perf_counter()
        dataset = build_dataset(table)
        features_s = _seconds(start)
        cache_mb = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20

        start = time.perf_counter()
        warm = build_dataset(load_archive(path, cache_dir=cache))
        warm_s = _seconds(start)
        assert len(warm.labels) == len(dataset.labels)
        del warm

    rows += [
        (
            "matches / deliveries / target deliveries",
            f"{table.num_matches:,} / {len(table):,} / {len(dataset.labels):,}",
            "",
            None,
        ),
        ("cold import (parse + table + cache write)", f"{import_s:.1f} s", "", None),
        ("cold import speed", f"{len(table) / import_s:,.0f} deliveries/s", "", None),
        ("features + train-fitted state (graph inputs)", f"{features_s:.1f} s", "", None),
        (
            "cold import + graph inputs",
            f"{import_s + features_s:.1f} s",
            "<= 60 s",
            import_s + features_s <= 60,
        ),
        ("warm load (cached table + features)", f"{warm_s:.1f} s", "<= 5 s", warm_s <= 5),
    ]

    torch.set_num_threads(1)
    builder = HeteroDataBuilder(dataset)
    for batch_size in (64, 512):
        rate, num_batches, deliveries = _graph_throughput(builder, batch_size)
        rows.append(
            (
                f"graph build + batch, batch_size {batch_size}, 1 thread "
                f"({num_batches:,} batches, {deliveries:,} targets)",
                f"{rate:,.0f} target deliveries/s",
                ">= 20,000/s",
                rate >= 20_000,
            )
        )
    peak = _peak_rss_mb()
    rows += [
        ("peak memory (RSS, whole benchmark)", f"{peak:,.0f} MB", "", None),
        ("cache size on disk", f"{cache_mb:.1f} MB", "<= 300 MB", cache_mb <= 300),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="archive zip or folder")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"bench/data.py: no archive at {args.data} (pass --data PATH)")
    rows = run(args.data)
    print(
        f"Data pipeline on {args.data.name} — {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__}\n"
    )
    print("| metric | value | target | met |")
    print("|---|---|---|---|")
    for metric, value, target, met in rows:
        mark = "" if met is None else ("yes" if met else "**no**")
        print(f"| {metric} | {value} | {target} | {mark} |")


if __name__ == "__main__":
    main()
