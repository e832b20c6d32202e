"""The causal one-graph-per-innings design: schema, builder and batching."""

from cricket_gnn.graphs.batching import InningsBatcher, pack_innings
from cricket_gnn.graphs.builder import HeteroDataBuilder, RowBlock, rows_from_dataset
from cricket_gnn.graphs.schema import CONTEXT_TYPES, EDGE_TYPES, NODE_TYPES, metadata

__all__ = [
    "CONTEXT_TYPES",
    "EDGE_TYPES",
    "NODE_TYPES",
    "HeteroDataBuilder",
    "InningsBatcher",
    "RowBlock",
    "metadata",
    "pack_innings",
    "rows_from_dataset",
]
