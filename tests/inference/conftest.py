"""A tiny real-archive dataset and a randomly initialised checkpoint fitted on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_data import tiny_dataset  # noqa: E402

from cricket_gnn.data.dataset import CricketDataset  # noqa: E402
from cricket_gnn.models import ModelConfig, build_model  # noqa: E402
from cricket_gnn.training.checkpoint import save_checkpoint  # noqa: E402


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> CricketDataset:
    return tiny_dataset(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def checkpoint_file(
    small_dataset: CricketDataset, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A randomly initialised 'full' model: equivalence needs weights, not skill."""
    torch.manual_seed(0)
    fitted = small_dataset.fitted
    config = ModelConfig(
        model="full",
        hidden_dim=16,
        num_layers=2,
        num_heads=2,
        dropout=0.0,
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
    )
    model = build_model(config).eval()
    path = tmp_path_factory.mktemp("ckpt") / "best_loss_tiny.pt"
    save_checkpoint(
        path,
        {
            "model_config": config.to_dict(),
            "fitted": fitted.to_dict(),
            "model_state": model.state_dict(),
            "temperature": 1.3,
            "decision_bias": [0.0] * 7,
            "metrics": {"val_loss": 1.9},
            "data_version": small_dataset.data_version,
            "code_version": "test",
            "kind": "best_loss",
            "epoch": 0,
        },
    )
    return path
