"""Fixtures shared across the test tree: the real Cricsheet archive and its dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cricket_gnn.data import CricketDataset, build_dataset, load_archive

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def archive_path() -> Path:
    """The shared T20I archive ($CRICKET_GNN_DATA overrides); skips when it is absent."""
    override = os.environ.get("CRICKET_GNN_DATA")
    path = Path(override) if override else REPO_ROOT.parent / "shared/data/t20s_male_json.zip"
    if not path.exists():
        pytest.skip(f"real archive not found at {path} (set CRICKET_GNN_DATA)")
    return path


@pytest.fixture(scope="session")
def real_dataset(archive_path: Path, tmp_path_factory: pytest.TempPathFactory) -> CricketDataset:
    """The real archive imported once per session into a private cache."""
    table = load_archive(archive_path, cache_dir=tmp_path_factory.mktemp("real-cache"))
    return build_dataset(table)
