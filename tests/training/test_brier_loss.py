"""The Brier term of the loss: the squared error of the probabilities, added on request."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cricket_gnn.evaluation import per_sample_brier
from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.loss import BallOutcomeLoss
from tests.training.tiny_run import one_epoch_runs, tiny_train_config, weights_differ


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logits = torch.randn(6, 7, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 4, 6, 2, 3])
    soft = torch.softmax(torch.randn(6, 7, generator=torch.Generator().manual_seed(1)), -1)
    return logits, labels, soft


def test_the_loss_adds_the_brier_score_of_the_labels() -> None:
    logits, labels, _ = _batch()
    cross_entropy = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    brier = per_sample_brier(labels.numpy(), torch.softmax(logits, -1).numpy())
    loss = BallOutcomeLoss(None, 0.0, 0.0, brier_weight=2.0)(logits, labels)
    expected = (cross_entropy.numpy() + 2.0 * brier).mean()
    assert loss.item() == pytest.approx(float(expected), rel=1e-5)
    # Weight 0 is cross-entropy alone.
    plain = BallOutcomeLoss(None, 0.0, 0.0, brier_weight=0.0)(logits, labels)
    torch.testing.assert_close(plain, cross_entropy.mean())


def test_with_teachers_the_squared_error_is_to_the_same_mix_of_label_and_teachers() -> None:
    logits, labels, soft = _batch()
    probs = torch.softmax(logits, -1)
    target = 0.75 * torch.nn.functional.one_hot(labels, 7).float() + 0.25 * soft
    distilled = BallOutcomeLoss(None, 0.0, 0.0, distill_weight=0.25)(logits, labels, None, soft)
    both = BallOutcomeLoss(None, 0.0, 0.0, distill_weight=0.25, brier_weight=0.5)(
        logits, labels, None, soft
    )
    squared = ((probs - target) ** 2).sum(-1)
    torch.testing.assert_close(both, distilled + 0.5 * squared.mean())
    # Each delivery's weight multiplies its Brier term too.
    weight = torch.tensor([0.0, 1.0, 2.0, 0.5, 1.0, 1.5])
    weighted = BallOutcomeLoss(None, 0.0, 0.0, brier_weight=1.0)(logits, labels, weight)
    cross_entropy = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    labels_only = ((probs - torch.nn.functional.one_hot(labels, 7)) ** 2).sum(-1)
    torch.testing.assert_close(weighted, ((cross_entropy + labels_only) * weight).mean())


def test_a_negative_brier_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="brier_weight must be >= 0, got -0.5"):
        TrainConfig(run_name="x", brier_weight=-0.5)


def test_a_run_with_the_brier_term_trains_differently_and_records_it(
    small_dataset, tmp_path
) -> None:
    runs = one_epoch_runs(
        small_dataset, tmp_path, plain=tiny_train_config(), brier=tiny_train_config(brier_weight=2)
    )
    assert [r["train_config"]["brier_weight"] for r in runs.values()] == [0.0, 2.0]
    assert weights_differ(runs["plain"], runs["brier"])
    assert np.isfinite(
        [v.float().sum().item() for v in runs["brier"]["model_state"].values()]
    ).all()
