"""Fixtures shared by the evaluation tests: a hand-checked example and random batches."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

# Five hand-checked balls. Predictions (argmax) are dot, four, dot, six, wicket.
HAND_Y = np.array([0, 4, 6, 1, 6])
HAND_PROBS = np.array(
    [
        [0.7, 0.1, 0.05, 0.05, 0.05, 0.05, 0.0],  # dot, right, confidence 0.7
        [0.1, 0.2, 0.0, 0.0, 0.6, 0.1, 0.0],  # four, right, confidence 0.6
        [0.5, 0.2, 0.0, 0.0, 0.1, 0.0, 0.2],  # wicket called a dot, confidence 0.5
        [0.2, 0.3, 0.0, 0.0, 0.1, 0.4, 0.0],  # single called a six, confidence 0.4
        [0.1, 0.1, 0.0, 0.0, 0.0, 0.0, 0.8],  # wicket, right, confidence 0.8
    ]
)
HAND_PHASE = np.array([0, 0, 4, 4, 4])
HAND_INNINGS = np.array([1, 1, 2, 2, 2])


@dataclass(frozen=True)
class HandExample:
    """The five hand-checked balls with their phases and innings."""

    y_true: np.ndarray
    probs: np.ndarray
    phase: np.ndarray
    innings: np.ndarray


@pytest.fixture
def hand() -> HandExample:
    """Five balls whose metrics the tests work out by hand."""
    return HandExample(HAND_Y.copy(), HAND_PROBS.copy(), HAND_PHASE.copy(), HAND_INNINGS.copy())


@pytest.fixture
def make_batch() -> Callable[[int, int], dict[str, np.ndarray]]:
    """Factory for random batches: make_batch(num_samples, seed)."""
    return random_batch


@pytest.fixture
def metrics_close() -> Callable[..., None]:
    """Recursive comparison of two metric dicts (see assert_close)."""
    return assert_close


def random_batch(num_samples: int, seed: int) -> dict[str, np.ndarray]:
    """Random labels, probabilities, phases, innings and runs (some phases left empty)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(num_samples, 7)) + np.array([2.0, 1.5, 0.0, -1.0, 0.5, 0.0, -0.5])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # Labels drawn from the model's own distribution half the time, so scores are non-trivial.
    sampled = (probs.cumsum(axis=1) > rng.random((num_samples, 1))).argmax(axis=1)
    labels = np.where(rng.random(num_samples) < 0.5, sampled, rng.integers(0, 7, num_samples))
    return {
        "y_true": labels,
        "probs": probs,
        "phase": rng.choice([0, 1, 2, 3], size=num_samples),  # death_2 stays empty
        "innings": rng.integers(1, 3, num_samples),
        "runs": np.array([0, 1, 2, 3, 4, 6, 0])[labels] + (rng.random(num_samples) < 0.05),
    }


def assert_close(actual: Any, expected: Any, tol: float = 1e-9, path: str = "") -> None:
    """Recursively compare nested metric dicts: same keys, numbers equal within `tol`."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert set(actual) == set(expected), f"{path}: {set(actual) ^ set(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], tol, f"{path}.{key}")
    elif expected is None:
        assert actual is None, path
    else:
        assert type(actual) is type(expected), f"{path}: {type(actual)} vs {type(expected)}"
        assert math.isclose(actual, expected, rel_tol=0, abs_tol=tol), (
            f"{path}: {actual} != {expected}"
        )
