"""Cross-entropy with optional focal term, class weights, label smoothing and Brier term."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def class_weight_vector(priors: tuple[float, ...], scheme: str) -> Tensor | None:
    """Per-class loss weights from train class priors: none, sqrt(1/p) or 1/p, mean 1."""
    if scheme == "none":
        return None
    p = np.maximum(np.asarray(priors, dtype=np.float64), 1e-6)
    weights = 1.0 / np.sqrt(p) if scheme == "sqrt" else 1.0 / p
    weights = weights / (weights * p).sum()  # expected weight under the prior is 1
    return torch.tensor(weights, dtype=torch.float32)


class BallOutcomeLoss(nn.Module):
    """Mean loss over target deliveries. Shapes: logits [T, 7], labels [T] -> scalar.

    `sample_weight` [T] multiplies each delivery's loss before the mean. With
    `soft_targets` [T, 7] (a teacher's probabilities) each delivery's loss is
    (1 - distill_weight) * the label loss + distill_weight * the cross-entropy to them.
    `brier_weight` adds that multiple of the squared error between the probabilities and
    the same target (the one-hot label, or with `soft_targets` the same mix of label and
    teachers): the multiclass Brier score, which weighs the common outcomes more than
    cross-entropy does.
    """

    def __init__(
        self,
        weights: Tensor | None,
        focal_gamma: float,
        label_smoothing: float,
        distill_weight: float = 0.0,
        brier_weight: float = 0.0,
    ):
        super().__init__()
        self.register_buffer("weights", weights if weights is not None else torch.ones(0))
        self.focal_gamma = focal_gamma
        self.label_smoothing = label_smoothing
        self.distill_weight = distill_weight
        self.brier_weight = brier_weight

    def forward(
        self,
        logits: Tensor,
        labels: Tensor,
        sample_weight: Tensor | None = None,
        soft_targets: Tensor | None = None,
    ) -> Tensor:
        weights: Tensor = self.weights  # type: ignore[assignment]  # a registered buffer
        weight = weights if weights.numel() else None
        per_sample = nn.functional.cross_entropy(
            logits, labels, weight=weight, reduction="none", label_smoothing=self.label_smoothing
        )
        if self.focal_gamma > 0:
            p_true = torch.softmax(logits.float(), -1).gather(1, labels[:, None]).squeeze(1)
            per_sample = per_sample * (1.0 - p_true).pow(self.focal_gamma)
        if soft_targets is not None:
            soft = -(soft_targets * torch.log_softmax(logits, -1)).sum(-1)
            per_sample = (1.0 - self.distill_weight) * per_sample + self.distill_weight * soft
        if self.brier_weight > 0:
            target = nn.functional.one_hot(labels, logits.shape[-1]).float()
            if soft_targets is not None:
                target = (1.0 - self.distill_weight) * target + self.distill_weight * soft_targets
            squared = (torch.softmax(logits.float(), -1) - target).pow(2).sum(-1)
            per_sample = per_sample + self.brier_weight * squared
        if sample_weight is not None:
            per_sample = per_sample * sample_weight
        return per_sample.mean()


def recency_weights(days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Loss weight of each training delivery from its match day: newer matches count more.

    The weight halves every `half_life_days` back from the newest day and is scaled to
    mean 1 over `days` (the training split's target deliveries), so the learning rate
    keeps its meaning. Returns float32 [len(days)]; half_life_days 0 gives all ones.
    """
    if half_life_days <= 0:
        return np.ones(days.shape[0], dtype=np.float32)
    weights = np.exp2((days.astype(np.float64) - days.max()) / half_life_days)
    return (weights / weights.mean()).astype(np.float32)
