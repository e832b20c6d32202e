"""Training hyper-parameters: a frozen dataclass stored with every run and checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CLASS_WEIGHTING = ("none", "sqrt", "balanced")
SELECT_METRICS = ("log_loss", "macro_f1")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimiser, schedule, loss and data options of one training run."""

    run_name: str
    seed: int = 42
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    grad_clip: float = 1.0
    patience: int = 10
    select_metric: str = "log_loss"
    focal_gamma: float = 0.0
    class_weights: str = "none"
    label_smoothing: float = 0.0
    # Evaluate and save an exponential moving average of the weights (0 = off).
    ema_decay: float = 0.0
    # Weight each training delivery's loss by 2^(-age / half-life), age in days before the
    # newest training match (0 = every delivery counts the same). The train loss that
    # progress events report is then the weighted one.
    recency_half_life: float = 0.0
    # Distillation: checkpoints (same archive and split) whose averaged, val-calibrated
    # probabilities on the training deliveries the loss also pulls towards, with this
    # share of the loss; the labels keep 1 - distill_weight. Inert without teachers.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 0.8
    # Add this multiple of the multiclass Brier score (squared error of the probabilities)
    # to each delivery's loss (0 = cross-entropy alone).
    brier_weight: float = 0.0
    data_fraction: float = 1.0
    max_steps_per_epoch: int = 0  # 0 = the whole training split every epoch
    # Wall-clock budget: no epoch is started that would not finish within it (0 = none).
    max_time_s: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (0.0 < self.lr <= 1.0, f"lr must be in (0, 1], got {self.lr}"),
            (self.weight_decay >= 0.0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.max_time_s >= 0.0, f"max_time_s must be >= 0, got {self.max_time_s}"),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (self.focal_gamma >= 0.0, f"focal_gamma must be >= 0, got {self.focal_gamma}"),
            (0.0 <= self.ema_decay < 1.0, f"ema_decay must be in [0, 1), got {self.ema_decay}"),
            (
                self.recency_half_life >= 0.0,
                f"recency_half_life must be >= 0 days, got {self.recency_half_life}",
            ),
            (
                0.0 <= self.distill_weight <= 1.0,
                f"distill_weight must be in [0, 1], got {self.distill_weight}",
            ),
            (self.brier_weight >= 0.0, f"brier_weight must be >= 0, got {self.brier_weight}"),
            (
                0.0 <= self.label_smoothing < 1.0,
                f"label_smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (
                0.0 < self.data_fraction <= 1.0,
                f"data_fraction must be in (0, 1], got {self.data_fraction}",
            ),
            (
                self.class_weights in CLASS_WEIGHTING,
                f"class_weights must be one of {CLASS_WEIGHTING}, got {self.class_weights!r}",
            ),
            (
                self.select_metric in SELECT_METRICS,
                f"select_metric must be one of {SELECT_METRICS}, got {self.select_metric!r}",
            ),
            (
                bool(self.run_name) and "/" not in self.run_name,
                f"run_name must be a non-empty file-name-safe string, got {self.run_name!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        object.__setattr__(self, "teachers", tuple(self.teachers))  # a list from JSON

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for checkpoints, wandb and run records."""
        return asdict(self)
