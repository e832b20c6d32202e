"""Mini-batches of whole innings holding about `batch_size` target deliveries."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def pack_innings(order: np.ndarray, lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut `order` (innings ids) into consecutive batches of ~batch_size deliveries.

    A batch is closed once adding the next innings would overshoot by more than it
    undershoots, so every batch holds at least one innings.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    sizes = lengths[order]
    batches: list[np.ndarray] = []
    start, held = 0, 0
    for i, size in enumerate(sizes):
        if held and held + size - batch_size > batch_size - held:
            batches.append(order[start:i])
            start, held = i, 0
        held += int(size)
    if start < len(order):
        batches.append(order[start:])
    return batches


class InningsBatcher:
    """Yields arrays of innings ids per batch; shuffles per epoch; shards across ranks.

    Training packs one shuffled order into batches and deals them round-robin (padded
    so every rank takes the same number of steps); evaluation (`shuffle=False`) shards
    innings without padding so that no innings is counted twice.
    """

    def __init__(
        self,
        innings: np.ndarray,
        lengths: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.innings = np.asarray(innings, dtype=np.int64)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle deterministically for this epoch (same order on every rank)."""
        self.epoch = epoch

    def _shard(self) -> np.ndarray:
        """Evaluation: this rank's innings, every innings on exactly one rank."""
        return self.innings[self.rank :: self.world_size]

    def batches(self) -> list[np.ndarray]:
        """This rank's batches for the current epoch."""
        if not self.shuffle:
            return pack_innings(self._shard(), self.lengths, self.batch_size)
        # The same permutation DistributedSampler would draw, identical on every rank.
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        order = self.innings[torch.randperm(len(self.innings), generator=generator).numpy()]
        # Pack once for all ranks, then deal the batches out: sharding innings first would
        # give ranks different batch counts, and DDP hangs on the extra step. Pad the deal
        # by repeating the first batches so every rank takes the same number of steps.
        every = pack_innings(order, self.lengths, self.batch_size)
        short = -len(every) % self.world_size
        every += [every[i % len(every)] for i in range(short)] if every else []
        return every[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())

    def num_deliveries(self) -> int:
        """Target deliveries in this rank's batches for the current epoch."""
        return int(sum(self.lengths[batch].sum() for batch in self.batches()))
