"""Soft targets for distillation: the averaged probabilities of teacher checkpoints.

A seed ensemble beats any one of its members (docs/results.md, session 6), but serving
three models triples the latency. Distillation trains one model towards the ensemble's
probabilities on the training split, so that one model may carry part of the gain.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cricket_gnn.cache_files import prune_least_recently_used, touch
from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.training import checkpoint as ckpt
from cricket_gnn.training.distributed import DistInfo, broadcast_object, gather_objects
from cricket_gnn.training.evaluate import shard_batches

# Tables kept in the cache: the seeds of a student share one, so a few cover the teacher
# sets a study is comparing; older ones are rebuilt if asked for again.
TEACHER_CACHE_KEEP = 8


def _load_teacher(path: Path, dataset: CricketDataset) -> dict[str, Any]:
    """A teacher checkpoint, refused unless it was fitted on exactly this dataset.

    Its vocabularies and feature scaling must be the student's, or its player ids and
    features would mean other things.
    """
    if not path.is_file():
        raise ValueError(f"teacher checkpoint {path} does not exist")
    try:
        saved = ckpt.load_checkpoint(path)
    except Exception as exc:  # torch.load raises many kinds on a file that is no checkpoint
        raise ValueError(f"teacher {path} is not a readable cricket-gnn checkpoint: {exc}") from exc
    if saved.get("data_version") != dataset.data_version:
        raise ValueError(
            f"teacher {path} was trained on data version {saved.get('data_version')}, "
            f"this run has {dataset.data_version}: train the teacher on the same archive"
        )
    if FittedState.from_dict(saved["fitted"]) != dataset.fitted:
        raise ValueError(
            f"teacher {path} has other vocabularies or feature scaling than this run: "
            "train it with the same archive, split and --data_fraction"
        )
    return saved


@dataclass(frozen=True)
class SoftTargets:
    """The teachers' mean probabilities per dataset row, and where they came from."""

    table: torch.Tensor
    teachers: list[dict[str, Any]]
    cache_path: Path | None
    from_cache: bool


def _cache_key(
    dataset: CricketDataset, teachers: list[dict[str, Any]], info: DistInfo
) -> dict[str, Any]:
    """Everything the table depends on: the rows, the teachers' bytes and temperatures,
    and what computed it (another torch or device may round differently)."""
    return {
        "data_version": dataset.data_version,
        "rows": int(dataset.labels.shape[0]),
        "teachers": [[entry["sha256"], entry["temperature"]] for entry in teachers],
        "torch": str(torch.__version__),
        "device": info.device.type,
    }


def _read_cache(path: Path, key: dict[str, Any]) -> torch.Tensor | None:
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a torn or foreign file is recomputed and overwritten
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    table = stored.get("table")
    if not isinstance(table, torch.Tensor):
        return None
    touch([path])  # the time of last use decides what pruning keeps
    return table


def _write_cache(path: Path, key: dict[str, Any], table: torch.Tensor) -> None:
    """Write atomically: runs started together may write the same file at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save({"key": key, "table": table}, partial)
    partial.replace(path)
    prune_teacher_cache(path.parent)


def prune_teacher_cache(directory: Path, keep: int = TEACHER_CACHE_KEEP) -> list[Path]:
    """Delete all but the `keep` most recently used tables (~17 MB each on the full
    archive), and partial writes a killed run left a day ago or more; returns what went."""
    tables = {path.name: [path] for path in directory.glob("soft-targets-*.pt")}
    removed = prune_least_recently_used(tables, keep)
    day_ago = time.time() - 86_400
    for partial in directory.glob("soft-targets-*.tmp"):
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < day_ago:
                partial.unlink()
                removed.append(partial)
    return removed


@torch.no_grad()
def _forward_passes(
    loaded: list[tuple[Path, dict[str, Any]]], dataset: CricketDataset, info: DistInfo
) -> torch.Tensor:
    table = torch.zeros(dataset.labels.shape[0], 7, dtype=torch.float32)
    builder = HeteroDataBuilder(dataset)
    batches = shard_batches(dataset, "train", info)
    for _, saved in loaded:
        model, _ = ckpt.model_from_checkpoint(saved)
        model.to(info.device)
        temperature = float(saved.get("temperature", 1.0))
        parts = []
        for innings in batches:
            graph = builder.build_innings(innings).to(info.device)
            probs = torch.softmax(model(graph).float() / temperature, dim=-1).cpu()
            parts.append((dataset.rows_of(innings), probs))
        for rank_parts in gather_objects(parts, info):
            for rows, probs in rank_parts:  # type: ignore[attr-defined]
                table[torch.from_numpy(rows)] += probs
        del model
    return table / max(len(loaded), 1)


def teacher_probabilities(
    paths: tuple[str, ...],
    dataset: CricketDataset,
    info: DistInfo,
    cache_dir: Path | None = None,
) -> SoftTargets:
    """Mean calibrated probabilities of `paths` for every training delivery.

    The table is float32 [num_rows, 7], indexed by dataset row (rows outside the
    training split stay zero); `teachers` holds each teacher's path, sha256 and
    temperature. Each teacher uses the temperature fitted on val that its checkpoint
    holds. Ranks share the forward passes; every rank gets the whole table.

    With `cache_dir`, the table is kept under `cache_dir/teachers`, keyed by the
    teachers' sha256 and the dataset, so the other seeds of a student and a resumed run
    skip the forward passes (minutes per teacher on the full archive). Rank 0 alone
    decides whether the cache holds it, so all ranks agree.
    """
    loaded = [(Path(name), _load_teacher(Path(name), dataset)) for name in paths]
    teachers = [
        {
            "path": str(path.resolve()),
            "sha256": ckpt.sha256_of(path),
            "temperature": float(saved.get("temperature", 1.0)),
        }
        for path, saved in loaded
    ]
    key = _cache_key(dataset, teachers, info)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    cache_path = cache_dir / "teachers" / f"soft-targets-{digest}.pt" if cache_dir else None
    cached = _read_cache(cache_path, key) if cache_path is not None and info.is_main else None
    table = broadcast_object(cached, info)
    if isinstance(table, torch.Tensor):
        return SoftTargets(table, teachers, cache_path, True)
    # Building the teachers draws initial weights from the global generator; the
    # student's shuffles and dropout must not depend on whether the cache was warm.
    cuda = [info.device] if info.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        table = _forward_passes(loaded, dataset, info)
    if cache_path is not None and info.is_main:
        try:
            _write_cache(cache_path, key, table)
        except OSError:  # a read-only or full cache costs the next run time, not this run
            cache_path = None
    return SoftTargets(table, teachers, cache_path, False)
