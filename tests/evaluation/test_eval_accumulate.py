"""MetricAccumulator shards merge to exactly the single-process metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributed as dist

from cricket_gnn.evaluation import MetricAccumulator, compute_metrics

BIAS = np.array([0.0, 0.2, 0.8, 1.5, 0.3, 0.6, 1.0])


def shard_accumulators(batch: dict[str, np.ndarray], num_shards: int, seed: int):
    """Split a batch into random shards, one accumulator each (fed in two updates)."""
    order = np.random.default_rng(seed).permutation(len(batch["y_true"]))
    accumulators = []
    for shard in np.array_split(order, num_shards):
        accumulator = MetricAccumulator(decision_bias=BIAS)
        for part in np.array_split(shard, 2):
            accumulator.update(
                batch["y_true"][part],
                batch["probs"][part],
                batch["phase"][part],
                batch["innings"][part],
                runs=batch["runs"][part],
            )
        accumulators.append(accumulator)
    return accumulators


def whole_batch_metrics(batch: dict[str, np.ndarray]) -> dict:
    return compute_metrics(
        batch["y_true"],
        batch["probs"],
        phase=batch["phase"],
        innings=batch["innings"],
        runs=batch["runs"],
        decision_bias=BIAS,
    )


def test_merged_shards_equal_compute_metrics(make_batch, metrics_close) -> None:
    batch = make_batch(900, 11)
    first, *rest = shard_accumulators(batch, num_shards=3, seed=12)
    for other in rest:
        first.merge(other)
    assert first.num_samples == 900
    metrics_close(first.finalize(), whole_batch_metrics(batch))


def test_summed_tensors_equal_compute_metrics(make_batch, metrics_close) -> None:
    batch = make_batch(900, 13)
    shards = shard_accumulators(batch, num_shards=3, seed=14)
    tensors = [shard.to_tensor() for shard in shards]
    assert all(t.dtype == torch.float64 and t.ndim == 1 for t in tensors)
    assert len(tensors[0]) == MetricAccumulator.num_values()
    summed = MetricAccumulator(decision_bias=BIAS).from_tensor(torch.stack(tensors).sum(dim=0))
    metrics_close(summed.finalize(), whole_batch_metrics(batch))


def test_torch_inputs_match_numpy_inputs(hand, metrics_close) -> None:
    arrays = (hand.y_true, hand.probs, hand.phase, hand.innings)
    from_numpy = MetricAccumulator()
    from_numpy.update(*arrays)
    from_torch = MetricAccumulator()
    from_torch.update(*(torch.as_tensor(x) for x in arrays))
    assert torch.equal(from_numpy.to_tensor(), from_torch.to_tensor())
    metrics_close(
        from_numpy.finalize(),
        compute_metrics(hand.y_true, hand.probs, phase=hand.phase, innings=hand.innings),
        tol=1e-12,
    )


def test_all_reduce_over_a_single_rank_group(hand, tmp_path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("gloo backend not available")
    accumulator = MetricAccumulator()
    accumulator.update(hand.y_true, hand.probs, hand.phase, hand.innings)
    before = accumulator.to_tensor().clone()
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1
    )
    try:
        accumulator.all_reduce()
    finally:
        dist.destroy_process_group()
    assert torch.equal(accumulator.to_tensor(), before)


def test_finalize_without_samples_raises() -> None:
    with pytest.raises(ValueError, match="no samples"):
        MetricAccumulator().finalize()


def test_from_tensor_rejects_wrong_length() -> None:
    with pytest.raises(ValueError, match="flat tensor"):
        MetricAccumulator().from_tensor(torch.zeros(3, dtype=torch.float64))
