"""A small slice of the real archive (whole matches) shared by the model/training tests."""

from __future__ import annotations

import os
from pathlib import Path

from cricket_gnn.data.dataset import CricketDataset, load_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]


def archive() -> Path:
    """The shared Cricsheet archive ($CRICKET_GNN_DATA overrides)."""
    env = os.environ.get("CRICKET_GNN_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "t20s_male_json.zip"


def tiny_dataset(cache_dir: Path, fraction: float = 0.02) -> CricketDataset:
    """About 2% of the matches of each split."""
    return load_dataset(archive(), data_fraction=fraction, cache_dir=cache_dir)
