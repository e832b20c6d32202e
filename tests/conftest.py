"""Fixtures shared across the test tree: the real Cricsheet archive and its dataset."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cricket_gnn.data import CricketDataset, build_dataset, load_archive

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache for the whole run, so no test writes to the user's ~/.cache.

    The services and trainings the tests start inherit it through the environment; a
    test that names its own $CRICKET_GNN_CACHE keeps it. The archive's table is built
    here once and every later reader finds it.
    """
    cache = tmp_path_factory.mktemp("cache")
    before = os.environ.get("CRICKET_GNN_CACHE")
    os.environ["CRICKET_GNN_CACHE"] = str(cache)
    yield cache
    if before is None:
        os.environ.pop("CRICKET_GNN_CACHE", None)
    else:
        os.environ["CRICKET_GNN_CACHE"] = before


@pytest.fixture(scope="session")
def archive_path() -> Path:
    """The shared T20I archive ($CRICKET_GNN_DATA overrides); skips when it is absent."""
    override = os.environ.get("CRICKET_GNN_DATA")
    path = Path(override) if override else REPO_ROOT.parent / "shared/data/t20s_male_json.zip"
    if not path.exists():
        pytest.skip(f"real archive not found at {path} (set CRICKET_GNN_DATA)")
    return path


@pytest.fixture(scope="session")
def real_dataset(archive_path: Path, session_cache: Path) -> CricketDataset:
    """The real archive imported once per session into the session's cache."""
    table = load_archive(archive_path, cache_dir=session_cache)
    return build_dataset(table)
