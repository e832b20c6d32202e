"""The six CricketHeteroGNN variants."""

from cricket_gnn.models.config import MODEL_NAMES, ModelConfig
from cricket_gnn.models.hetero_gnn import (
    MODEL_CLASSES,
    CricketHeteroGNN,
    CricketHeteroGNNFull,
    CricketHeteroGNNHybrid,
    CricketHeteroGNNInningsConditional,
    CricketHeteroGNNPhaseModulated,
    CricketHeteroGNNWithPooling,
    build_model,
)

__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "CricketHeteroGNN",
    "CricketHeteroGNNFull",
    "CricketHeteroGNNHybrid",
    "CricketHeteroGNNInningsConditional",
    "CricketHeteroGNNPhaseModulated",
    "CricketHeteroGNNWithPooling",
    "ModelConfig",
    "build_model",
]
