"""Mini-batches are whole innings, about batch_size deliveries, each innings once an epoch."""

from __future__ import annotations

import numpy as np
import pytest

from cricket_gnn.data import CricketDataset
from cricket_gnn.graphs import HeteroDataBuilder, InningsBatcher, pack_innings


@pytest.fixture(scope="module")
def lengths(real_dataset: CricketDataset) -> np.ndarray:
    return np.diff(real_dataset.innings_ptr)


def test_pack_innings_cuts_near_batch_size_without_splitting_an_innings() -> None:
    lengths = np.array([120, 100, 30, 30, 30, 125, 5, 110])
    batches = pack_innings(np.arange(8), lengths, batch_size=128)
    assert np.concatenate(batches).tolist() == list(range(8))
    # Closed when the next innings would overshoot by more than the batch falls short.
    assert [lengths[b].sum() for b in batches] == [120, 130, 185, 115]
    # An innings longer than the batch still travels, whole and alone.
    assert [b.tolist() for b in pack_innings(np.array([0, 1]), lengths, 50)] == [[0], [1]]
    with pytest.raises(ValueError, match="batch_size"):
        pack_innings(np.arange(8), lengths, 0)


@pytest.mark.parametrize("batch_size", [64, 512, 4096])
def test_an_epoch_holds_every_train_innings_once_in_batches_of_about_batch_size(
    real_dataset: CricketDataset, lengths: np.ndarray, batch_size: int
) -> None:
    train = real_dataset.split_innings("train")
    batcher = InningsBatcher(train, lengths, batch_size, shuffle=True, seed=3)
    batcher.set_epoch(2)
    batches = batcher.batches()
    seen = np.concatenate(batches)
    assert np.sort(seen).tolist() == np.sort(train).tolist()
    sizes = np.array([lengths[b].sum() for b in batches])
    assert sizes.sum() == batcher.num_deliveries() == lengths[train].sum()
    longest = int(lengths.max())
    # Each closed batch is within one innings of the target; on average much closer.
    assert (np.abs(sizes[:-1] - batch_size) <= longest).all()
    assert abs(sizes.mean() - batch_size) <= 0.1 * batch_size + longest / 2
    # A new epoch is a new order, and the same epoch is the same order.
    batcher.set_epoch(3)
    assert not np.array_equal(np.concatenate(batcher.batches()), seen)
    batcher.set_epoch(2)
    assert np.array_equal(np.concatenate(batcher.batches()), seen)


def test_a_batch_graph_holds_all_deliveries_of_its_innings(
    real_dataset: CricketDataset, lengths: np.ndarray
) -> None:
    builder = HeteroDataBuilder(real_dataset)
    batch = InningsBatcher(
        real_dataset.split_innings("test"), lengths, 512, shuffle=False
    ).batches()[0]
    graph = builder.build_innings(batch)
    assert graph["query"].num_nodes == lengths[batch].sum()
    assert graph.num_graphs == len(batch)
    per_graph = np.bincount(graph["query"].graph.numpy(), minlength=len(batch))
    assert per_graph.tolist() == lengths[batch].tolist()
    # Packing innings together changes nothing inside each of them.
    alone = [builder.build_innings([i]) for i in batch]
    for edge_type in graph.edge_types:
        assert graph[edge_type].num_edges == sum(g[edge_type].num_edges for g in alone)
    np.testing.assert_array_equal(
        graph["query"].x.numpy(), np.concatenate([g["query"].x.numpy() for g in alone])
    )


def test_evaluation_shards_cover_every_innings_exactly_once(
    real_dataset: CricketDataset, lengths: np.ndarray
) -> None:
    val = real_dataset.split_innings("val")
    shards = [
        np.concatenate(
            InningsBatcher(val, lengths, 512, shuffle=False, rank=r, world_size=2).batches()
        )
        for r in range(2)
    ]
    together = np.concatenate(shards)
    assert len(together) == len(val)
    assert np.sort(together).tolist() == np.sort(val).tolist()


def test_training_ranks_take_the_same_number_of_steps_and_cover_every_innings(
    real_dataset: CricketDataset, lengths: np.ndarray
) -> None:
    # DDP all-reduces every step: a rank with one batch more than another would hang.
    train = real_dataset.split_innings("train")
    for epoch in range(4):
        per_rank = []
        for rank in range(2):
            batcher = InningsBatcher(
                train, lengths, 512, shuffle=True, seed=1, rank=rank, world_size=2
            )
            batcher.set_epoch(epoch)
            per_rank.append(batcher.batches())
        assert len(per_rank[0]) == len(per_rank[1]), f"epoch {epoch}"
        covered = np.concatenate([np.concatenate(b) for b in per_rank])
        assert set(covered.tolist()) == set(train.tolist())
        assert len(covered) - len(train) <= 2 * int(lengths.max())  # little padding
