"""The tiny model and short run that the training tests share."""

from __future__ import annotations

from cricket_gnn.models import ModelConfig
from cricket_gnn.training.config import TrainConfig

TINY_MODEL = ModelConfig(model="full", hidden_dim=16, num_layers=2, num_heads=2, dropout=0.1)


def tiny_train_config(**overrides) -> TrainConfig:
    """Two 4-step epochs of 512-delivery batches, seed 7, unless overridden."""
    values = dict(run_name="tiny", epochs=2, batch_size=512, max_steps_per_epoch=4, seed=7)
    values.update(overrides)
    return TrainConfig(**values)
