"""Soft targets for distillation: the averaged probabilities of teacher checkpoints.

A seed ensemble beats any one of its members (docs/results.md, session 6), but serving
three models triples the latency. Distillation trains one model towards the ensemble's
probabilities on the training split, so that one model may carry part of the gain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.training import checkpoint as ckpt
from cricket_gnn.training.distributed import DistInfo, gather_objects
from cricket_gnn.training.evaluate import shard_batches


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


@torch.no_grad()
def teacher_probabilities(
    paths: tuple[str, ...], dataset: CricketDataset, info: DistInfo
) -> tuple[torch.Tensor, list[dict[str, Any]]]:
    """Mean calibrated probabilities of `paths` for every training delivery.

    Returns a float32 [num_rows, 7] tensor indexed by dataset row (rows outside the
    training split stay zero) and, per teacher, its path, sha256 and temperature. Each
    teacher uses the temperature fitted on val that its checkpoint holds. Ranks share
    the forward passes; every rank gets the whole table.
    """
    table = torch.zeros(dataset.labels.shape[0], 7, dtype=torch.float32)
    teachers: list[dict[str, Any]] = []
    builder = HeteroDataBuilder(dataset)
    batches = shard_batches(dataset, "train", info)
    for name in paths:
        path = Path(name)
        saved = _load_teacher(path, dataset)
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
        teachers.append(
            {
                "path": str(path.resolve()),
                "sha256": ckpt.sha256_of(path),
                "temperature": temperature,
            }
        )
        del model
    return table / max(len(paths), 1), teachers
