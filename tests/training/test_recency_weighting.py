"""Recency weighting: newer training matches count more in the loss, as configured."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.distributed import DistInfo
from cricket_gnn.training.loss import BallOutcomeLoss, recency_weights
from cricket_gnn.training.trainer import Trainer
from tests.training.tiny_run import TINY_MODEL, one_epoch_runs, weights_differ
from tests.training.tiny_run import tiny_train_config as _train_config


def test_weights_halve_every_half_life_and_average_one() -> None:
    days = np.array([1000, 1365, 1730, 1730])
    weights = recency_weights(days, 365.0)
    assert weights.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(weights / weights[-1], [0.25, 0.5, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(recency_weights(days, 0.0), np.ones(4, dtype=np.float32))


def test_the_loss_is_the_weighted_mean_of_the_cross_entropies() -> None:
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 4, 6, 2])
    weight = torch.tensor([0.5, 1.0, 2.0, 0.0, 1.5])
    per_delivery = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    loss = BallOutcomeLoss(None, 0.0, 0.0)(logits, labels, weight)
    torch.testing.assert_close(loss, (per_delivery * weight).mean())


def test_each_training_match_is_weighted_by_its_day(small_dataset, tmp_path) -> None:
    half_life = 200.0
    trainer = Trainer(
        TINY_MODEL, _train_config(recency_half_life=half_life), small_dataset, DistInfo(), tmp_path
    )
    by_match = trainer._match_weights(torch.device("cpu"))
    assert by_match is not None
    rows = small_dataset.rows_of(small_dataset.split_innings("train"))
    matches = small_dataset.columns["match"][rows]
    days = small_dataset.table.match_dates[matches]
    weights = by_match.numpy()[matches]
    assert weights.mean() == pytest.approx(1.0, rel=1e-5)
    newest, oldest = days.argmax(), days.argmin()
    ratio = weights[oldest] / weights[newest]
    assert ratio == pytest.approx(2.0 ** (-(days[newest] - days[oldest]) / half_life), rel=1e-5)
    # Val and test matches are never trained on, so they carry no weight.
    held_out = np.setdiff1d(np.arange(small_dataset.table.num_matches), matches)
    assert held_out.size and not by_match.numpy()[held_out].any()
    unweighted = Trainer(TINY_MODEL, _train_config(), small_dataset, DistInfo(), tmp_path)
    assert unweighted._match_weights(torch.device("cpu")) is None


def test_a_weighted_run_trains_a_different_model_and_records_its_half_life(
    small_dataset, tmp_path
) -> None:
    runs = one_epoch_runs(
        small_dataset,
        tmp_path,
        equal=_train_config(),
        recent=_train_config(recency_half_life=100.0),
    )
    assert runs["recent"]["train_config"]["recency_half_life"] == 100.0
    assert runs["equal"]["train_config"]["recency_half_life"] == 0.0
    assert weights_differ(runs["equal"], runs["recent"])


def test_a_negative_half_life_is_refused() -> None:
    with pytest.raises(ValueError, match="recency_half_life must be >= 0 days, got -1"):
        TrainConfig(run_name="x", recency_half_life=-1.0)
