"""Model evaluation over whole innings, sharded across ranks without duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.evaluation import MetricAccumulator
from cricket_gnn.graphs import HeteroDataBuilder, InningsBatcher
from cricket_gnn.training.distributed import DistInfo, gather_objects

EVAL_BATCH_DELIVERIES = 2048


@dataclass
class Predictions:
    """Logits of every target delivery of a split (gathered from all ranks)."""

    logits: torch.Tensor  # [N, 7]
    labels: torch.Tensor  # [N]
    phase: np.ndarray
    innings: np.ndarray
    match: np.ndarray


def shard_batches(dataset: CricketDataset, split: str, info: DistInfo) -> list[np.ndarray]:
    """This rank's share of `split` in whole-innings batches, in order, for inference."""
    batcher = InningsBatcher(
        dataset.split_innings(split),
        np.diff(dataset.innings_ptr),
        EVAL_BATCH_DELIVERIES,
        shuffle=False,
        rank=info.rank,
        world_size=info.world_size,
    )
    return batcher.batches()


@torch.no_grad()
def predict_split(
    model: torch.nn.Module, dataset: CricketDataset, split: str, info: DistInfo
) -> Predictions:
    """Logits for every target delivery of `split`, gathered onto every rank."""
    model.eval()
    builder = HeteroDataBuilder(dataset)
    parts: list[tuple[Any, ...]] = []
    for innings in shard_batches(dataset, split, info):
        graph = builder.build_innings(innings).to(info.device)
        logits = model(graph).float().cpu()
        query = graph["query"]
        parts.append(
            (
                logits,
                query.y.cpu(),
                query.phase.cpu().numpy(),
                query.innings.cpu().numpy(),
                query.match.cpu().numpy(),
            )
        )
    gathered = gather_objects(parts, info)
    flat = [p for rank_parts in gathered for p in rank_parts]  # type: ignore[attr-defined]
    if not flat:
        empty = np.zeros(0, dtype=np.int64)
        return Predictions(torch.zeros(0, 7), torch.zeros(0, dtype=torch.long), empty, empty, empty)
    return Predictions(
        logits=torch.cat([p[0] for p in flat]),
        labels=torch.cat([p[1] for p in flat]),
        phase=np.concatenate([p[2] for p in flat]),
        innings=np.concatenate([p[3] for p in flat]),
        match=np.concatenate([p[4] for p in flat]),
    )


@torch.no_grad()
def evaluate_split(
    model: torch.nn.Module,
    dataset: CricketDataset,
    split: str,
    info: DistInfo,
    temperature: float = 1.0,
    decision_bias: np.ndarray | None = None,
) -> dict[str, Any]:
    """Metrics of `split` from all-reduced counts: every rank gets the same numbers."""
    model.eval()
    builder = HeteroDataBuilder(dataset)
    accumulator = MetricAccumulator(decision_bias=decision_bias)
    for innings in shard_batches(dataset, split, info):
        graph = builder.build_innings(innings).to(info.device)
        probs = torch.softmax(model(graph).float() / temperature, dim=-1).double().cpu()
        query = graph["query"]
        accumulator.update(
            query.y.cpu().numpy(),
            probs.numpy(),
            query.phase.cpu().numpy(),
            query.innings.cpu().numpy(),
        )
    if info.distributed:
        accumulator.all_reduce(info.device)
    return accumulator.finalize()


def metrics_of(
    pred: Predictions, temperature: float = 1.0, decision_bias: Any = None
) -> dict[str, Any]:
    """The metrics `evaluate_split` gives, from logits already gathered by `predict_split`."""
    probs = torch.softmax(pred.logits.float() / temperature, dim=-1).double()
    accumulator = MetricAccumulator(decision_bias=decision_bias)
    accumulator.update(pred.labels.numpy(), probs.numpy(), pred.phase, pred.innings)
    return accumulator.finalize()
