"""Per-delivery node features, computed causally: row t only sees rows < t of its innings.

Every function here takes the deliveries table's columns for whole innings (or an
innings prefix whose last row is the pending ball) and returns one feature row per
delivery. Outcome columns of a row are never read for that row's own context, so a
pending ball may carry zeros there.
"""

from __future__ import annotations

import numpy as np

from cricket_gnn.data.career import (
    BOWLER_KIND_IDS,
    CareerTable,
    batting_features,
    bowling_features,
)
from cricket_gnn.data.grouped import exclusive_cumsum, exclusive_cumsum_by_key, rows_since
from cricket_gnn.data.grouped import window_sum as window
from cricket_gnn.data.schema import PHASE_START_OVERS, WICKET_KINDS

# Coarse dismissal groups for ball features: caught, bowled, lbw, run out, stumped, other.
_WICKET_GROUP = np.array(
    [
        {"caught": 0, "caught and bowled": 0, "bowled": 1, "lbw": 2, "run out": 3}.get(
            k, 4 if k == "stumped" else 5
        )
        for k in WICKET_KINDS
    ]
)
BALL_FEATURE_DIM = 22
INNINGS_BALLS = 120.0


def phase_of_over(legal_over: np.ndarray) -> np.ndarray:
    """Phase id 0..4 of a 0-indexed legal over (overs past 19 count as death_2)."""
    return (np.searchsorted(np.asarray(PHASE_START_OVERS), legal_over, side="right") - 1).astype(
        np.int64
    )


def ball_features(c: dict[str, np.ndarray]) -> np.ndarray:
    """What happened on each delivery: [n, BALL_FEATURE_DIM]."""
    n = c["runs_batter"].shape[0]
    runs = np.minimum(c["runs_batter"], 6)
    x = np.zeros((n, BALL_FEATURE_DIM), dtype=np.float32)
    x[np.arange(n), runs] = 1.0  # 0..6+ runs off the bat
    x[:, 7] = c["wides"] > 0
    x[:, 8] = c["noballs"] > 0
    x[:, 9] = c["byes"] > 0
    x[:, 10] = c["legbyes"] > 0
    x[:, 11] = c["runs_extras"] / 5.0
    x[:, 12] = c["is_dismissal"]
    group = _WICKET_GROUP[c["wicket_kind"]]
    has_wicket = c["wicket_kind"] > 0
    x[np.flatnonzero(has_wicket), 13 + group[has_wicket]] = 1.0
    x[:, 19] = c["legal_over"] / 20.0
    x[:, 20] = c["ball_in_over"] / 6.0
    x[:, 21] = c["runs_batter"] >= 4
    return x


def context_features(
    c: dict[str, np.ndarray], batting: CareerTable, bowling: CareerTable
) -> dict[str, np.ndarray]:
    """The state before each delivery, one float32 array per context node type."""
    return features_from_totals(running_totals(c, batting, bowling))


def running_totals(
    c: dict[str, np.ndarray], batting: CareerTable, bowling: CareerTable
) -> dict[str, np.ndarray]:
    """What each row's context is made of: sums, windows and careers over earlier rows.

    Every value is a plain total (runs so far, the striker's balls so far, dots in the last
    12 rows, ...) of the rows before each row in its innings; `features_from_totals` turns
    them into features. A live innings keeps the same totals for its pending ball only,
    folding in each new delivery once (inference.running), instead of recomputing them
    over the prefix.
    """
    group = c["innings_id"]
    v = row_values(c)
    t: dict[str, np.ndarray] = {
        "innings": c["innings"],
        "target_runs": c["target_runs"],
        "target_overs": c["target_overs"],
        "legal_ball_index": c["legal_ball_index"],
        "legal_over": c["legal_over"],
        "ball_in_over": c["ball_in_over"],
    }
    t["score"] = exclusive_cumsum(v["runs_total"], group)
    t["wickets"] = exclusive_cumsum(v["out"], group)
    t["extras"] = exclusive_cumsum(v["extras"], group)

    # Per-player state within this innings: keys are (innings, player).
    num_players = (
        int(
            max(
                c["batter"].max(initial=0),
                c["non_striker"].max(initial=0),
                c["bowler"].max(initial=0),
            )
        )
        + 1
    )
    innings64 = group.astype(np.int64) * num_players
    # A row contributes to its own batter; look the values up for the striker/non-striker.
    own = innings64 + c["batter"]
    t["striker"] = _prefix_for(v["batter_stats"], own, innings64 + c["batter"])
    t["nonstriker"] = _prefix_for(v["batter_stats"], own, innings64 + c["non_striker"])
    own_bowler = innings64 + c["bowler"]
    t["bowler"] = exclusive_cumsum_by_key(v["bowler_stats"], own_bowler)
    over_key = own_bowler * 64 + c["legal_over"].astype(np.int64)
    t["bowler_over"] = exclusive_cumsum_by_key(v["runs_and_legal"][:, ::-1], over_key)
    # Partnership: since the last dismissal in this innings.
    partnership_id = group.astype(np.int64) * 16 + t["wickets"].astype(np.int64)
    t["partnership"] = exclusive_cumsum_by_key(v["runs_and_legal"], partnership_id)

    # Career statistics before this match (the hierarchical identity of each player).
    match = c["match"].astype(np.int64)
    t["striker_career"] = batting.before(c["batter"], match)
    t["nonstriker_career"] = batting.before(c["non_striker"], match)
    t["bowler_career"] = bowling.before(c["bowler"], match)

    for value, size in WINDOWS:
        t[f"{value}_last_{size}"] = window(v[value], group, size)
    for event, cap in SINCE:
        t[f"since_{event}"] = rows_since(v[event] > 0, group, cap)
    return t


# Windowed sums of the rows before a delivery: (row value, rows).
WINDOWS = (
    ("runs_total", 6),
    ("runs_total", 12),
    ("boundary", 12),
    ("out", 12),
    ("out", 24),
    ("dot", 6),
    ("dot", 12),
    ("extras", 12),
)
# Rows since the last earlier row with the event (the innings start counts), capped.
SINCE = (("out", 60), ("boundary", 30), ("non_dot", 30))


def row_values(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What each delivery adds to the running totals of the rows after it (float64)."""
    runs_total = c["runs_total"].astype(np.float64)
    runs_bat = c["runs_batter"].astype(np.float64)
    legal = c["is_legal"].astype(np.float64)
    faced = (c["wides"] == 0).astype(np.float64)
    boundary = (c["runs_batter"] >= 4).astype(np.float64)
    dot = ((c["runs_total"] == 0) & c["is_legal"]).astype(np.float64)
    return {
        "runs_total": runs_total,
        "out": c["is_dismissal"].astype(np.float64),
        "boundary": boundary,
        "dot": dot,
        "non_dot": 1.0 - dot,
        "extras": c["runs_extras"].astype(np.float64),
        # The batter's runs, balls faced, fours, sixes, dots faced.
        "batter_stats": np.stack(
            [runs_bat, faced, boundary * (runs_bat < 6), runs_bat >= 6, faced * (runs_bat == 0)],
            axis=1,
        ),
        # The bowler's legal balls, runs conceded, wickets, dots.
        "bowler_stats": np.stack(
            [
                legal,
                runs_bat + c["wides"] + c["noballs"],
                np.isin(c["wicket_kind"], BOWLER_KIND_IDS),
                dot,
            ],
            axis=1,
        ),
        "runs_and_legal": np.stack([runs_total, legal], axis=1),
    }


def features_from_totals(t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Context node features from `running_totals` (or a live innings' same totals)."""
    score, wickets = t["score"], t["wickets"]
    balls = t["legal_ball_index"].astype(np.float64)
    overs_done = balls / 6.0
    crr = score / np.maximum(overs_done, 1.0)
    target_runs = t["target_runs"]
    is_chase = (target_runs > 0).astype(np.float64)
    limit = np.where(is_chase > 0, t["target_overs"] * 6.0, INNINGS_BALLS)
    limit = np.where(limit > 0, limit, INNINGS_BALLS)
    balls_left = np.maximum(limit - balls, 0.0)
    needed = np.maximum(target_runs - score, 0.0) * is_chase
    rrr = needed / np.maximum(balls_left / 6.0, 1.0 / 6.0) * is_chase
    phase = phase_of_over(t["legal_over"].astype(np.int64))
    wickets_in_hand = 10.0 - wickets

    f: dict[str, np.ndarray] = {}
    f["score_state"] = np.stack(
        [score / 100.0, wickets / 10.0, balls / INNINGS_BALLS, crr / 8.0, t["extras"] / 10.0],
        axis=1,
    )
    f["chase_state"] = np.stack(
        [
            is_chase,
            target_runs / 150.0 * is_chase,
            needed / 100.0,
            np.minimum(rrr, 36.0) / 8.0,
            np.clip(rrr - crr, -12, 24) / 8.0 * is_chase,
            needed / np.maximum(target_runs, 1) * is_chase,
        ],
        axis=1,
    )
    phase_onehot = np.eye(5)[phase]
    f["phase_state"] = np.concatenate(
        [
            phase_onehot,
            (balls / INNINGS_BALLS)[:, None],
            (t["ball_in_over"] / 6.0)[:, None],
            (t["innings"] == 2)[:, None],
        ],
        axis=1,
    )
    f["time_pressure"] = np.stack(
        [balls_left / INNINGS_BALLS, (balls_left <= 6), (balls_left <= 24), limit / INNINGS_BALLS],
        axis=1,
    )
    f["wicket_buffer"] = np.stack(
        [
            wickets_in_hand / 10.0,
            wickets_in_hand / np.maximum(balls_left / 6.0, 1.0),
            t["since_out"] / 60.0,
            (wickets_in_hand <= 3),
        ],
        axis=1,
    )
    f["striker_state"] = _batter_state(t["striker"])
    f["nonstriker_state"] = _batter_state(t["nonstriker"])
    bcum, in_over = t["bowler"], t["bowler_over"]
    f["bowler_state"] = np.stack(
        [
            bcum[:, 0] / 24.0,
            bcum[:, 1] / 30.0,
            bcum[:, 2] / 2.0,
            bcum[:, 1] / np.maximum(bcum[:, 0], 1) * 6 / 8,
            bcum[:, 3] / np.maximum(bcum[:, 0], 1),
            in_over[:, 0] / 6.0,
            in_over[:, 1] / 10.0,
        ],
        axis=1,
    )
    part = t["partnership"]
    f["partnership"] = np.stack(
        [part[:, 0] / 30.0, part[:, 1] / 24.0, part[:, 0] / np.maximum(part[:, 1], 1) / 2.0],
        axis=1,
    )
    f["striker_identity"] = batting_features(t["striker_career"])
    f["nonstriker_identity"] = batting_features(t["nonstriker_career"])
    f["bowler_identity"] = bowling_features(t["bowler_career"])
    f["batting_momentum"] = np.stack(
        [
            t["runs_total_last_6"] / 9.0,
            t["runs_total_last_12"] / 18.0,
            t["boundary_last_12"] / 2.0,
            t["since_boundary"] / 30.0,
        ],
        axis=1,
    )
    f["bowling_momentum"] = np.stack(
        [
            t["out_last_12"],
            t["out_last_24"] / 2.0,
            t["dot_last_12"] / 6.0,
            t["extras_last_12"] / 3.0,
        ],
        axis=1,
    )
    f["pressure_index"] = np.stack(
        [
            np.clip(rrr - crr, -12, 24) / 8.0 * is_chase,
            t["dot_last_12"] / 12.0,
            t["since_boundary"] / 30.0,
            wickets / np.maximum(balls / 6.0, 1.0),
        ],
        axis=1,
    )
    # Dot balls in a row immediately before the delivery.
    f["dot_pressure"] = np.stack(
        [(t["since_non_dot"] - 1) / 6.0, t["dot_last_6"] / 6.0],
        axis=1,
    )
    for name in ("venue", "batting_team", "bowling_team"):
        f[name] = np.ones((score.shape[0], 1))
    return {name: values.astype(np.float32) for name, values in f.items()}


def _batter_state(cum: np.ndarray) -> np.ndarray:
    r, b, fours, sixes, dots = cum.T
    return np.stack(
        [
            r / 30.0,
            np.log1p(b),
            r / np.maximum(b, 1) * 100 / 150,
            fours / 3.0,
            sixes / 2.0,
            dots / np.maximum(b, 1),
            b < 6,
        ],
        axis=1,
    )


def _prefix_for(stats: np.ndarray, own_key: np.ndarray, query_key: np.ndarray) -> np.ndarray:
    """For each row t: sum of `stats` over rows < t (same innings) whose own_key == query_key[t].

    Implemented by merging contributions and queries in one stable sort by key, so the
    non-striker's runs are found even though the non-striker's own rows are elsewhere.
    """
    n = own_key.shape[0]
    idx = np.arange(n)
    # Contributions happen "after" the row's query: sort by (key, row, kind) where kind 0 =
    # query and 1 = contribution, so a row never sees its own contribution.
    keys = np.concatenate([query_key, own_key])
    rows = np.concatenate([idx, idx])
    kind = np.concatenate([np.zeros(n, dtype=np.int8), np.ones(n, dtype=np.int8)])
    order = np.lexsort((kind, rows, keys))
    contrib = np.concatenate([np.zeros_like(stats), stats])[order]
    cum = np.cumsum(contrib, axis=0) - contrib
    sorted_keys = keys[order]
    new = np.ones(2 * n, dtype=bool)
    new[1:] = sorted_keys[1:] != sorted_keys[:-1]
    first = np.flatnonzero(new)[np.cumsum(new) - 1]
    cum = cum - cum[first]
    out = np.empty_like(stats, dtype=np.float64)
    is_query = kind[order] == 0
    out[rows[order][is_query]] = cum[is_query]
    return out


def target_phase(c: dict[str, np.ndarray]) -> np.ndarray:
    """Phase id of each delivery (for per-phase metrics and FiLM conditioning)."""
    return phase_of_over(c["legal_over"].astype(np.int64))
