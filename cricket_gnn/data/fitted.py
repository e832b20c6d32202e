"""State fitted on the training split only: vocabularies, normalisers, class priors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cricket_gnn.data.schema import NUM_CLASSES


@dataclass(frozen=True, kw_only=True)
class FittedState:
    """Everything learnt from train that features need; plain lists so checkpoints hold it.

    Vocabularies are keyed by stable names (registry ids, normalised venue and team
    names), so a checkpoint applies to any archive. Index 0 of each is the cold-start
    slot for anything not seen in train.
    """

    players: tuple[str, ...]
    venues: tuple[str, ...]
    teams: tuple[str, ...]
    feature_mean: dict[str, tuple[float, ...]]
    feature_std: dict[str, tuple[float, ...]]
    class_priors: tuple[float, ...]

    @property
    def num_players(self) -> int:
        return len(self.players) + 1

    @property
    def num_venues(self) -> int:
        return len(self.venues) + 1

    @property
    def num_teams(self) -> int:
        return len(self.teams) + 1

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, loadable with torch.load(weights_only=True)."""
        return {
            "players": list(self.players),
            "venues": list(self.venues),
            "teams": list(self.teams),
            "feature_mean": {k: list(v) for k, v in self.feature_mean.items()},
            "feature_std": {k: list(v) for k, v in self.feature_std.items()},
            "class_priors": list(self.class_priors),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedState:
        """Inverse of to_dict."""
        return cls(
            players=tuple(data["players"]),
            venues=tuple(data["venues"]),
            teams=tuple(data["teams"]),
            feature_mean={k: tuple(v) for k, v in data["feature_mean"].items()},
            feature_std={k: tuple(v) for k, v in data["feature_std"].items()},
            class_priors=tuple(data["class_priors"]),
        )

    def lookup(self, names: list[str], kind: str) -> np.ndarray:
        """Vocabulary index per name (0 = unseen in train) for 'players'/'venues'/'teams'."""
        vocab = {name: i + 1 for i, name in enumerate(getattr(self, kind))}
        return np.array([vocab.get(name, 0) for name in names], dtype=np.int64)

    def normalise(self, name: str, values: np.ndarray) -> np.ndarray:
        """Standardise one context type's features with the train mean and std."""
        mean = np.asarray(self.feature_mean[name], dtype=np.float32)
        std = np.asarray(self.feature_std[name], dtype=np.float32)
        return ((values - mean) / std).astype(np.float32)


def fit_state(
    *,
    player_names: list[str],
    venue_names: list[str],
    team_names: list[str],
    train_players: np.ndarray,
    train_venues: np.ndarray,
    train_teams: np.ndarray,
    train_features: dict[str, np.ndarray],
    train_labels: np.ndarray,
) -> FittedState:
    """Fit vocabularies, feature normalisers and class priors on training rows only."""
    priors = np.bincount(train_labels, minlength=NUM_CLASSES).astype(np.float64)
    priors = priors / max(priors.sum(), 1.0)
    mean, std = {}, {}
    for name, values in train_features.items():
        mu = values.mean(axis=0) if values.shape[0] else np.zeros(values.shape[1])
        sd = values.std(axis=0) if values.shape[0] else np.ones(values.shape[1])
        mean[name] = tuple(float(v) for v in mu)
        # Constant columns (e.g. the chase flag in a tiny subset) keep their raw scale.
        std[name] = tuple(float(v) if v > 1e-6 else 1.0 for v in sd)
    return FittedState(
        players=tuple(player_names[i] for i in np.unique(train_players[train_players >= 0])),
        venues=tuple(venue_names[i] for i in np.unique(train_venues)),
        teams=tuple(team_names[i] for i in np.unique(train_teams)),
        feature_mean=mean,
        feature_std=std,
        class_priors=tuple(float(p) for p in priors),
    )
