"""HeteroDataBuilder: whole innings (or innings prefixes) -> one causal HeteroData graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import HeteroData

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.graphs.schema import BALL_RELATIONS, CONTEXT_TYPES, IDENTITY_VOCAB, QUERY_DIM


@dataclass
class RowBlock:
    """Per-delivery arrays for a set of innings, each innings contiguous and in order.

    A row with `has_ball` False is a pending delivery (its outcome unknown): it gets
    context and query nodes but no ball node. Pending rows may only end an innings.
    """

    context: dict[str, np.ndarray]
    ids: dict[str, np.ndarray]
    ball_x: np.ndarray
    ball_ids: np.ndarray
    has_ball: np.ndarray
    group: np.ndarray  # innings index within the block, 0..g-1
    position: np.ndarray  # delivery index within its innings
    batter: np.ndarray
    bowler: np.ndarray
    legal_over: np.ndarray
    ball_in_over: np.ndarray
    innings_no: np.ndarray
    phase: np.ndarray
    labels: np.ndarray  # -1 where unknown
    match: np.ndarray

    def __len__(self) -> int:
        return int(self.group.shape[0])


def rows_from_dataset(dataset: CricketDataset, innings: np.ndarray) -> RowBlock:
    """The RowBlock of some innings of a dataset."""
    rows = dataset.rows_of(innings)
    c = dataset.columns
    lengths = dataset.innings_ptr[innings + 1] - dataset.innings_ptr[innings]
    return RowBlock(
        context={k: v[rows] for k, v in dataset.context.items()},
        ids={k: v[rows] for k, v in dataset.ids.items()},
        ball_x=dataset.ball_x[rows],
        ball_ids=dataset.ball_ids[rows],
        has_ball=np.ones(rows.shape[0], dtype=bool),
        group=np.repeat(np.arange(innings.shape[0]), lengths),
        position=c["delivery_index"][rows].astype(np.int64),
        batter=c["batter"][rows].astype(np.int64),
        bowler=c["bowler"][rows].astype(np.int64),
        legal_over=c["legal_over"][rows].astype(np.int64),
        ball_in_over=c["ball_in_over"][rows].astype(np.int64),
        innings_no=c["innings"][rows].astype(np.int64),
        phase=dataset.phase[rows],
        labels=dataset.labels[rows],
        match=c["match"][rows].astype(np.int64),
    )


def _neighbour_edges(key: np.ndarray, position: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """(src, dst, rank) for the k most recent earlier rows sharing `key`; vectorised."""
    order = np.lexsort((position, key))
    sorted_key = key[order]
    src, dst, rank = [], [], []
    for d in range(1, min(k, len(key) - 1) + 1):
        same = np.flatnonzero(sorted_key[d:] == sorted_key[:-d])
        if same.size == 0:
            break  # no group has d earlier rows, so none has more
        dst.append(order[d:][same])
        src.append(order[:-d][same])
        rank.append(np.full(same.size, d))
    if not src:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(src), np.concatenate(dst), np.concatenate(rank)


def query_features(
    innings_no: np.ndarray, phase: np.ndarray, legal_over: np.ndarray, ball_in_over: np.ndarray
) -> np.ndarray:
    """Features of each row's query node: chase flag, phase one-hot, progress. [n, QUERY_DIM]"""
    x = np.zeros((innings_no.shape[0], QUERY_DIM), dtype=np.float32)
    x[:, 0] = innings_no == 2
    x[np.arange(innings_no.shape[0]), 1 + phase] = 1.0
    x[:, 6] = (legal_over * 6 + ball_in_over) / 120.0
    x[:, 7] = ball_in_over / 6.0
    return x


def _query_features(block: RowBlock) -> np.ndarray:
    return query_features(block.innings_no, block.phase, block.legal_over, block.ball_in_over)


class HeteroDataBuilder:
    """Builds the causal innings graph of DESIGN §3 for whole innings or prefixes.

    Each target delivery t gets one node of every context type and one `query` node
    (node index t in each); each delivery with a known outcome gets a `ball` node.
    Sparse edges run only from ball i to nodes at time t > i.
    """

    def __init__(self, dataset: CricketDataset | None = None) -> None:
        self.dataset = dataset

    def build_innings(self, innings: np.ndarray | list[int]) -> HeteroData:
        """Graph of whole innings of the builder's dataset."""
        if self.dataset is None:
            raise ValueError("this builder has no dataset; use build(RowBlock)")
        return self.build(rows_from_dataset(self.dataset, np.asarray(innings, dtype=np.int64)))

    def build(self, block: RowBlock) -> HeteroData:
        """Graph of a RowBlock (whole innings or prefixes ending in pending rows)."""
        data = HeteroData()
        ball_rows = np.flatnonzero(block.has_ball)
        ball_index = np.cumsum(block.has_ball) - 1  # row -> ball node index
        data["ball"].x = torch.from_numpy(block.ball_x[ball_rows])
        data["ball"].ids = torch.from_numpy(block.ball_ids[ball_rows])
        data["ball"].row = torch.from_numpy(ball_rows.astype(np.int64))  # its delivery's node
        for name in CONTEXT_TYPES:
            data[name].x = torch.from_numpy(block.context[name])
            if name in IDENTITY_VOCAB:
                data[name].ids = torch.from_numpy(block.ids[name])
        query = data["query"]
        query.x = torch.from_numpy(_query_features(block))
        query.y = torch.from_numpy(block.labels)
        query.phase = torch.from_numpy(block.phase)
        query.innings = torch.from_numpy(block.innings_no)
        query.match = torch.from_numpy(block.match)
        query.graph = torch.from_numpy(block.group.astype(np.int64))
        data["ball"].graph = torch.from_numpy(block.group[ball_rows].astype(np.int64))
        data.num_graphs = int(block.group.max(initial=-1)) + 1

        group = block.group.astype(np.int64)
        num_players = int(max(block.batter.max(initial=0), block.bowler.max(initial=0))) + 1
        keys = {
            "innings": group,
            "batter": group * num_players + block.batter,
            "bowler": group * num_players + block.bowler,
            "matchup": (group * num_players + block.batter) * num_players + block.bowler,
            "over": group * 64 + block.legal_over,
        }
        cache: dict[tuple[str, int], tuple[np.ndarray, ...]] = {}
        for (src_type, rel, dst_type), (key_name, k) in BALL_RELATIONS.items():
            cache_key = (key_name, k)
            if cache_key not in cache:
                cache[cache_key] = _neighbour_edges(keys[key_name], block.position, k)
            src, dst, _ = cache[cache_key]
            if dst_type == "ball":
                keep = block.has_ball[dst]
                src, dst = src[keep], dst[keep]
                dst_index = ball_index[dst]
            else:
                dst_index = dst
            gap = (block.position[dst] - block.position[src]).astype(np.float32)
            store = data[src_type, rel, dst_type]
            store.edge_index = torch.from_numpy(np.stack([ball_index[src], dst_index]))
            store.edge_attr = torch.from_numpy(np.stack([gap / 12.0, np.log1p(gap) / 3.0], 1))
        return data
