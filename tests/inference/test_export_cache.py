"""The folder of exported graphs keeps the most recently used pairs, not every one ever made."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cricket_gnn.cache_files import touch
from cricket_gnn.inference.exported import EXPORTS_KEPT, prune_exports


def _pair(folder: Path, stem: str, age_s: float) -> list[Path]:
    paths = [folder / f"{stem}-score.onnx", folder / f"{stem}-encode.onnx"]
    then = time.time() - age_s
    for path in paths:
        path.write_bytes(b"graph")
        os.utime(path, (then, then))
    return paths


def test_old_pairs_go_whole_and_a_pair_in_use_stays(tmp_path: Path) -> None:
    pairs = {f"{'ab' * 16}-{i:016x}": _pair(tmp_path, f"{'ab' * 16}-{i:016x}", 3600 * (i + 1))
             for i in range(EXPORTS_KEPT + 2)}  # fmt: skip
    oldest = list(pairs)[-1]
    touch(pairs[oldest])  # a server loaded it just now
    removed = prune_exports(tmp_path)
    gone = list(pairs)[-3:-1]  # the two oldest that nobody read since
    assert sorted(removed) == sorted(p for stem in gone for p in pairs[stem])
    kept = sorted(tmp_path.glob("*.onnx"))
    assert kept == sorted(p for stem in pairs if stem not in gone for p in pairs[stem])
    assert len(kept) == 2 * EXPORTS_KEPT  # both graphs of each kept pair
    assert prune_exports(tmp_path) == []
