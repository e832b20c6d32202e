"""The frozen model configuration every variant is built from and checkpoints carry."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MODEL_NAMES = ("base", "pooling", "hybrid", "phase_modulated", "innings_conditional", "full")

# What each variant adds (DESIGN §4); `full` takes its three flags from the config.
VARIANT_FEATURES: dict[str, dict[str, bool]] = {
    "base": {},
    "pooling": {"pooling": True},
    "hybrid": {"matchup": True},
    "phase_modulated": {"matchup": True, "film": True},
    "innings_conditional": {"matchup": True, "innings_heads": True},
    "full": {"matchup": True, "pooling": True},
}


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Architecture hyper-parameters plus the vocabulary sizes fixed by the data."""

    model: str = "base"
    hidden_dim: int = 128
    num_layers: int = 3
    num_heads: int = 4
    dropout: float = 0.1
    # Training-time probability of replacing a player/venue/team id by the unknown id 0:
    # trains the cold-start embedding that unseen players use at val/test time.
    id_dropout: float = 0.0
    use_film: bool = True
    use_hierarchical: bool = True
    use_innings_heads: bool = True
    num_players: int = 1
    num_venues: int = 1
    num_teams: int = 1

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(
                f"unknown model {self.model!r}; choose one of {', '.join(MODEL_NAMES)}"
            )
        if self.hidden_dim < 1 or self.num_layers < 1 or self.num_heads < 1:
            raise ValueError("hidden_dim, num_layers and num_heads must be positive")
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"num_heads ({self.num_heads}) must divide hidden_dim ({self.hidden_dim}); "
                f"try num_heads in {[h for h in (1, 2, 4, 8, 16) if self.hidden_dim % h == 0]}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.id_dropout < 1.0:
            raise ValueError(f"id_dropout must be in [0, 1), got {self.id_dropout}")

    def features(self) -> dict[str, bool]:
        """Which components this variant uses: pooling, matchup, film, innings_heads, hierarchical."""
        flags = {"pooling": False, "matchup": False, "film": False, "innings_heads": False}
        flags.update(VARIANT_FEATURES[self.model])
        hierarchical = False
        if self.model == "full":
            flags["film"] = self.use_film
            flags["innings_heads"] = self.use_innings_heads
            hierarchical = self.use_hierarchical
        flags["hierarchical"] = hierarchical
        return flags

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for checkpoints and run records."""
        return asdict(self)
