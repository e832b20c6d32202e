"""Node and edge types of the causal innings graph, declared once."""

from __future__ import annotations

from cricket_gnn.data.features import BALL_FEATURE_DIM

# Context node types, one node of each per target delivery t, grouped in the hierarchy
# global -> state -> actor -> dynamics (DESIGN §3).
CONTEXT_GROUPS: dict[str, tuple[str, ...]] = {
    "global": ("venue", "batting_team", "bowling_team"),
    "state": ("score_state", "chase_state", "phase_state", "time_pressure", "wicket_buffer"),
    "actor": (
        "striker_identity",
        "striker_state",
        "nonstriker_identity",
        "nonstriker_state",
        "bowler_identity",
        "bowler_state",
        "partnership",
    ),
    "dynamics": ("batting_momentum", "bowling_momentum", "pressure_index", "dot_pressure"),
}
CONTEXT_TYPES: tuple[str, ...] = tuple(t for group in CONTEXT_GROUPS.values() for t in group)
CONTEXT_FEATURE_DIMS: dict[str, int] = {
    "venue": 1,
    "batting_team": 1,
    "bowling_team": 1,
    "score_state": 5,
    "chase_state": 6,
    "phase_state": 8,
    "time_pressure": 4,
    "wicket_buffer": 4,
    "striker_identity": 6,
    "striker_state": 7,
    "nonstriker_identity": 6,
    "nonstriker_state": 7,
    "bowler_identity": 5,
    "bowler_state": 7,
    "partnership": 3,
    "batting_momentum": 4,
    "bowling_momentum": 4,
    "pressure_index": 4,
    "dot_pressure": 2,
}
# Identity node types carry a vocabulary id (0 = unseen in train) beside their features.
IDENTITY_VOCAB: dict[str, str] = {
    "venue": "venues",
    "batting_team": "teams",
    "bowling_team": "teams",
    "striker_identity": "players",
    "nonstriker_identity": "players",
    "bowler_identity": "players",
}
NODE_TYPES: tuple[str, ...] = ("ball", *CONTEXT_TYPES, "query")
BALL_DIM = BALL_FEATURE_DIM
QUERY_DIM = 8
EDGE_ATTR_DIM = 2

# Sparse relations, all from the past to the present: src ball i, dst at time t > i.
# (src, relation, dst) -> (neighbourhood key, k most recent kept)
BALL_RELATIONS: dict[tuple[str, str, str], tuple[str, int]] = {
    ("ball", "precedes", "ball"): ("innings", 12),
    ("ball", "same_bowler", "ball"): ("bowler", 6),
    ("ball", "same_batter", "ball"): ("batter", 6),
    ("ball", "same_matchup", "ball"): ("matchup", 6),
    ("ball", "same_over", "ball"): ("over", 6),
    ("ball", "faced_by", "striker_state"): ("batter", 12),
    ("ball", "bowled_by", "bowler_state"): ("bowler", 12),
    ("ball", "recent", "batting_momentum"): ("innings", 12),
    ("ball", "recent", "bowling_momentum"): ("innings", 12),
    ("ball", "recent", "pressure_index"): ("innings", 12),
    ("ball", "recent", "dot_pressure"): ("innings", 12),
    ("ball", "recent", "query"): ("innings", 12),
    # The last six overs, for the pooling variant's attention over each target's past.
    ("ball", "history", "query"): ("innings", 36),
}
EDGE_TYPES: tuple[tuple[str, str, str], ...] = tuple(BALL_RELATIONS)

# Context(t) -> context(t) and context(t) -> query(t) relations join nodes of the same
# delivery one-to-one; node i of every per-delivery type is delivery i, so these are
# stored implicitly (aligned rows) rather than as identity edge_index arrays.
ALIGNED_RELATIONS: tuple[tuple[str, str], ...] = (
    *((g, s) for g in CONTEXT_GROUPS["global"] for s in CONTEXT_GROUPS["state"]),
    *((s, a) for s in CONTEXT_GROUPS["state"] for a in CONTEXT_GROUPS["actor"]),
    *((a, d) for a in CONTEXT_GROUPS["actor"] for d in CONTEXT_GROUPS["dynamics"]),
    ("striker_identity", "bowler_identity"),  # matchup
    ("bowler_identity", "striker_identity"),
    *((c, "query") for c in CONTEXT_TYPES),
)


def metadata() -> tuple[list[str], list[tuple[str, str, str]]]:
    """PyG-style (node_types, edge_types) of the sparse part of the graph."""
    return list(NODE_TYPES), list(EDGE_TYPES)
