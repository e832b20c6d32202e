"""The gradient-boosting baseline fitted once per (data version, train split) and cached.

Fitting takes minutes on the full archive; every evaluation of a checkpoint against the
same archive and split reuses the same trees. The key also holds the feature normalisers
the trees were fitted under (the trees split on normalised values, so a checkpoint with
other normalisers needs other trees) and the sklearn version (pickles are not portable).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.data.schema import TEST_START, VAL_START
from cricket_gnn.evaluation.baselines import fit_gradient_boosting


@dataclass(frozen=True)
class CachedTrees:
    """A fitted baseline and where it came from."""

    model: HistGradientBoostingClassifier
    path: Path
    from_cache: bool
    fit_seconds: float
    key: dict[str, Any]


def cache_key(
    dataset: CricketDataset, data_fraction: float, seed: int, max_iter: int
) -> dict[str, Any]:
    """Everything the fitted trees depend on, as plain values."""
    fitted = dataset.fitted
    normalisers = json.dumps([fitted.feature_mean, fitted.feature_std], sort_keys=True)
    return {
        "data_version": dataset.data_version,
        "train_before": VAL_START,
        "val_before": TEST_START,
        "data_fraction": data_fraction,
        "seed": seed,
        "max_iter": max_iter,
        "normalisers_sha256": hashlib.sha256(normalisers.encode()).hexdigest(),
        "sklearn": sklearn.__version__,
    }


def cached_gradient_boosting(
    dataset: CricketDataset,
    cache_dir: Path,
    *,
    data_fraction: float = 1.0,
    seed: int = 0,
    max_iter: int = 300,
) -> CachedTrees:
    """Load the trees for this dataset's train split from `cache_dir`, or fit and store them."""
    key = cache_key(dataset, data_fraction, seed, max_iter)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir / "baselines" / f"gradient_boosting-{digest}.pkl"
    if path.exists():
        try:
            with path.open("rb") as handle:
                stored = pickle.load(handle)  # our own cache file, written below
            if stored.get("key") == key:
                return CachedTrees(stored["model"], path, True, stored["fit_seconds"], key)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError):
            pass  # a torn or stale file: fit again and overwrite it
    started = time.perf_counter()
    model = fit_gradient_boosting(dataset, seed=seed, max_iter=max_iter)
    fit_seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump({"key": key, "model": model, "fit_seconds": fit_seconds}, handle)
    partial.replace(path)
    return CachedTrees(model, path, False, fit_seconds, key)
