"""Causality: what the graph says about delivery t never depends on t or anything later.

The prefix graph is built the way live inference sees a match: only the deliveries up to
t, with t's outcome unknown (outcome columns zeroed, no ball node), features recomputed
from those rows alone and career tables from earlier matches alone.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch_geometric.data import HeteroData

from cricket_gnn.data import CricketDataset
from cricket_gnn.data.career import batting_career, bowling_career
from cricket_gnn.data.features import ball_features, context_features, target_phase
from cricket_gnn.graphs import HeteroDataBuilder, RowBlock, rows_from_dataset

# What only becomes known once the ball has been bowled.
OUTCOME_COLUMNS = (
    "runs_batter",
    "runs_extras",
    "runs_total",
    "wides",
    "noballs",
    "byes",
    "legbyes",
    "penalty",
    "wicket_kind",
    "is_dismissal",
    "is_legal",
    "label",
)


def _prefix_block(dataset: CricketDataset, innings: int, t: int) -> RowBlock:
    """RowBlock of deliveries 0..t of one innings, with delivery t still to be bowled."""
    rows = dataset.rows_of(np.array([innings]))[: t + 1]
    c = {name: values[rows].copy() for name, values in dataset.columns.items()}
    for name in OUTCOME_COLUMNS:
        c[name][-1] = 0
    c["player_out"][-1] = -1
    # Careers from the deliveries table of strictly earlier matches only.
    table = dataset.table
    match = int(c["match"][0])
    earlier = {k: v[table.columns["match"] < match] for k, v in table.columns.items()}
    batting = batting_career(earlier, table.num_matches)
    bowling = bowling_career(earlier, table.num_matches)
    raw = context_features(c, batting, bowling)
    labels = c["label"].astype(np.int64)
    labels[-1] = -1
    # Start from the whole-innings block so that any field added later is present, then
    # replace everything we know how to derive from the prefix alone.
    whole = rows_from_dataset(dataset, np.array([innings]))
    sliced = {
        f.name: (
            {k: v[: t + 1] for k, v in getattr(whole, f.name).items()}
            if isinstance(getattr(whole, f.name), dict)
            else getattr(whole, f.name)[: t + 1]
        )
        for f in dataclasses.fields(whole)
    }
    return dataclasses.replace(
        whole,
        **{
            **sliced,
            "context": {k: dataset.fitted.normalise(k, v) for k, v in raw.items()},
            "ids": {k: v[rows] for k, v in dataset.ids.items()},
            "ball_x": ball_features(c),
            "ball_ids": dataset.ball_ids[rows],
            "has_ball": np.arange(t + 1) < t,
            "group": np.zeros(t + 1, dtype=np.int64),
            "position": c["delivery_index"].astype(np.int64),
            "batter": c["batter"].astype(np.int64),
            "bowler": c["bowler"].astype(np.int64),
            "legal_over": c["legal_over"].astype(np.int64),
            "ball_in_over": c["ball_in_over"].astype(np.int64),
            "innings_no": c["innings"].astype(np.int64),
            "phase": target_phase(c),
            "labels": labels,
            "match": c["match"].astype(np.int64),
        },
    )


def _edges(graph: HeteroData, edge_type: tuple[str, str, str], max_dst: int) -> set[tuple]:
    """{(src, dst, *edge_attr)} of one relation, for destinations up to node max_dst."""
    store = graph[edge_type]
    src, dst = store.edge_index
    keep = dst <= max_dst
    attr = store.edge_attr[keep] if "edge_attr" in store else torch.zeros(int(keep.sum()), 0)
    return {
        (s, d, *a)
        for s, d, a in zip(src[keep].tolist(), dst[keep].tolist(), attr.tolist(), strict=True)
    }


def _innings_cases(dataset: CricketDataset) -> list[tuple[int, int]]:
    rng = np.random.default_rng(7)
    lengths = np.diff(dataset.innings_ptr)
    cases = []
    for split in ("train", "val", "test"):
        chosen = rng.choice(dataset.split_innings(split), size=2, replace=False)
        for innings in chosen:
            n = int(lengths[innings])
            for t in sorted({0, 1, 6, int(rng.integers(2, n)), n - 1}):
                cases.append((int(innings), t))
    return cases


@pytest.fixture(scope="module")
def builder(real_dataset: CricketDataset) -> HeteroDataBuilder:
    return HeteroDataBuilder(real_dataset)


def test_prefix_graph_equals_whole_innings_graph_up_to_t(
    real_dataset: CricketDataset, builder: HeteroDataBuilder
) -> None:
    cases = _innings_cases(real_dataset)
    whole_graphs = {i: builder.build_innings([i]) for i, _ in cases}
    incoming_at_t = 0
    for innings, t in cases:
        whole = whole_graphs[innings]
        prefix = builder.build(_prefix_block(real_dataset, innings, t))
        where = f"innings {innings}, t={t}"
        for node_type in prefix.node_types:
            num = t if node_type == "ball" else t + 1
            assert prefix[node_type].num_nodes == num, f"{where}: {node_type}"
            for key, value in prefix[node_type].items():
                if not torch.is_tensor(value) or value.dim() == 0:
                    continue
                expected = whole[node_type][key][:num]
                if key == "y":  # the pending delivery's label is unknown, by construction
                    value, expected = value[:t], expected[:t]
                    assert prefix[node_type][key][t] == -1
                assert torch.equal(value, expected), f"{where}: {node_type}.{key}"
        assert set(prefix.edge_types) == set(whole.edge_types)
        for edge_type in prefix.edge_types:
            # Ball nodes stop at t-1 in the prefix; every other node type reaches t.
            max_dst = t - 1 if edge_type[2] == "ball" else t
            got = _edges(prefix, edge_type, max_dst)
            assert got == _edges(whole, edge_type, max_dst), f"{where}: {edge_type}"
            incoming_at_t += sum(1 for e in got if e[1] == t and edge_type[2] != "ball")
    assert incoming_at_t > 0, "node t must actually receive messages from the past"


def test_every_sparse_edge_runs_from_an_earlier_ball(
    real_dataset: CricketDataset, builder: HeteroDataBuilder
) -> None:
    innings = real_dataset.split_innings("val")[:20]
    graph = builder.build_innings(innings)
    # Node i of every per-delivery type is delivery i of the batch, and with whole
    # innings every delivery has a ball node, so indices compare as times.
    assert graph["ball"].num_nodes == graph["query"].num_nodes
    for edge_type in graph.edge_types:
        src, dst = graph[edge_type].edge_index
        assert (src < dst).all(), edge_type
        same_innings = graph["ball"].graph[src] == graph["query"].graph[dst]
        assert same_innings.all(), f"{edge_type} joins two innings"
