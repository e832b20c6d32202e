import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_data import tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp("cache"))
