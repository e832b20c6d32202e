"""Class, phase and binning constants used by every evaluation metric.

The class and phase definitions live with the data schema (one source of truth); this
module adds what only evaluation needs.
"""

from __future__ import annotations

from cricket_gnn.data.schema import (
    CLASS_NAMES,
    CLASS_RUNS,
    NUM_CLASSES,
    PHASE_NAMES,
    PHASE_START_OVERS,
    WICKET_CLASS,
)

__all__ = [
    "BOUNDARY_CLASSES",
    "CLASS_NAMES",
    "CLASS_RUNS",
    "ECE_NUM_BINS",
    "INNINGS",
    "NUM_CLASSES",
    "NUM_INNINGS",
    "NUM_PHASES",
    "PHASE_NAMES",
    "PHASE_START_OVERS",
    "WICKET_CLASS",
]

BOUNDARY_CLASSES = (4, 5)
NUM_PHASES = len(PHASE_NAMES)
# Innings are numbered as in the scorecard: 1 (batting first) and 2 (the chase).
INNINGS = (1, 2)
NUM_INNINGS = len(INNINGS)
ECE_NUM_BINS = 15
