"""Cricsheet import, labels, splits, causal features and train-fitted state."""

from __future__ import annotations

from typing import Any

from cricket_gnn.data.archive import ArchiveNotFound, load_archive
from cricket_gnn.data.dataset import CricketDataset, build_dataset, load_dataset
from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.schema import CLASS_NAMES, NUM_CLASSES, PHASE_NAMES, SCHEMA_VERSION
from cricket_gnn.data.table import DeliveryTable

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "PHASE_NAMES",
    "SCHEMA_VERSION",
    "ArchiveNotFound",
    "CricketDataset",
    "DeliveryTable",
    "FittedState",
    "HeteroDataBuilder",
    "build_dataset",
    "load_archive",
    "load_dataset",
]


def __getattr__(name: str) -> Any:
    # The builder lives with the graphs and pulls in torch_geometric; import it lazily so
    # that `from cricket_gnn.data import HeteroDataBuilder` works without making every
    # data import pay for PyG.
    if name == "HeteroDataBuilder":
        from cricket_gnn.graphs.builder import HeteroDataBuilder

        return HeteroDataBuilder
    raise AttributeError(f"module 'cricket_gnn.data' has no attribute {name!r}")
