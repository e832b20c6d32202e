import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tiny_data import tiny_dataset  # noqa: E402


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def one_thread():
    # Multi-threaded scatter sums on CPU are not bit-reproducible, and AdamW turns
    # ~1e-9 gradient noise on near-zero gradients into visible weight differences; with one
    # thread two uninterrupted runs are bit-identical, so resume can be checked exactly.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
