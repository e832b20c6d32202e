"""Per-player career statistics from matches strictly before the match in question."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cricket_gnn.data.schema import BOWLER_WICKET_KINDS, WICKET_KINDS

BATTING_STATS = ("innings", "balls", "runs", "outs", "fours", "sixes", "dots")
BOWLING_STATS = ("balls", "runs", "wickets", "dots")
BOWLER_KIND_IDS = np.array([i for i, k in enumerate(WICKET_KINDS) if k in BOWLER_WICKET_KINDS])


@dataclass
class CareerTable:
    """Cumulative per-player totals after each match the player appeared in.

    `keys` = player * num_matches + match, sorted; `totals[i]` are the player's totals
    up to and including that match. A lookup for (player, match) takes the last key of
    the same player strictly before the match.
    """

    keys: np.ndarray
    totals: np.ndarray
    num_matches: int

    def before(self, player: np.ndarray, match: np.ndarray) -> np.ndarray:
        """Totals from the player's matches strictly before `match` (zeros if none)."""
        query = player.astype(np.int64) * self.num_matches + match
        pos = np.searchsorted(self.keys, query, side="left") - 1
        valid = (pos >= 0) & (player >= 0)
        pos = np.clip(pos, 0, None)
        same_player = valid & (self.keys[pos] // self.num_matches == player)
        out = np.zeros((player.shape[0], self.totals.shape[1]), dtype=np.float64)
        out[same_player] = self.totals[pos[same_player]]
        return out

    def latest(self, player: np.ndarray) -> np.ndarray:
        """Totals over every match on record (for live matches after the archive ends)."""
        return self.before(player, np.full(player.shape, self.num_matches, dtype=np.int64))


def _cumulate(keys: np.ndarray, stats: np.ndarray, num_matches: int) -> CareerTable:
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.zeros((unique.shape[0], stats.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, stats)
    player = unique // num_matches
    totals = np.cumsum(sums, axis=0)
    new_player = np.ones(unique.shape[0], dtype=bool)
    new_player[1:] = player[1:] != player[:-1]
    first = np.flatnonzero(new_player)[np.cumsum(new_player) - 1]
    offset = np.where(first > 0, totals[np.maximum(first - 1, 0)].T, 0.0).T
    return CareerTable(keys=unique, totals=totals - offset, num_matches=num_matches)


def batting_career(columns: dict[str, np.ndarray], num_matches: int) -> CareerTable:
    """Innings, balls faced, runs, outs, fours, sixes and dots per batter."""
    match = columns["match"].astype(np.int64)
    faced = columns["wides"] == 0
    runs = columns["runs_batter"]
    stats = np.stack(
        [
            np.zeros(runs.shape),
            faced,
            runs,
            np.zeros(runs.shape),
            (runs == 4) | (runs == 5),
            runs >= 6,
            faced & (runs == 0),
        ],
        axis=1,
    ).astype(np.float64)
    batter = columns["batter"].astype(np.int64)
    keys = batter * num_matches + match
    # Innings played and dismissals are per (player, match) events, not per ball.
    out_player = columns["player_out"].astype(np.int64)
    dismissed = columns["is_dismissal"] & (out_player >= 0)
    batted = np.unique(
        np.concatenate([keys, columns["non_striker"].astype(np.int64) * num_matches + match])
    )
    outs = out_player[dismissed] * num_matches + match[dismissed]
    extra_keys = np.concatenate([batted, outs])
    extra = np.zeros((extra_keys.shape[0], len(BATTING_STATS)))
    extra[: batted.shape[0], 0] = 1
    extra[batted.shape[0] :, 3] = 1
    return _cumulate(
        np.concatenate([keys, extra_keys]), np.concatenate([stats, extra]), num_matches
    )


def bowling_career(columns: dict[str, np.ndarray], num_matches: int) -> CareerTable:
    """Legal balls, runs conceded, bowler's wickets and dots per bowler."""
    legal = columns["is_legal"]
    conceded = columns["runs_batter"] + columns["wides"] + columns["noballs"]
    bowler_wicket = np.isin(columns["wicket_kind"], BOWLER_KIND_IDS)
    dots = legal & (columns["runs_total"] == 0)
    stats = np.stack([legal, conceded, bowler_wicket, dots], axis=1).astype(np.float64)
    keys = columns["bowler"].astype(np.int64) * num_matches + columns["match"]
    return _cumulate(keys, stats, num_matches)


def batting_features(totals: np.ndarray) -> np.ndarray:
    """Rates a model can use from raw batting totals: [n,7] -> [n,6]."""
    innings, balls, runs, outs, fours, sixes, dots = totals.T
    return np.stack(
        [
            np.log1p(innings),
            np.log1p(balls),
            runs / np.maximum(balls, 1) * 100.0 / 150.0,  # strike rate, ~1 for a T20 opener
            runs / np.maximum(outs, 1) / 30.0,  # average
            (fours + sixes) / np.maximum(balls, 1) * 5.0,
            dots / np.maximum(balls, 1),
        ],
        axis=1,
    ).astype(np.float32)


def bowling_features(totals: np.ndarray) -> np.ndarray:
    """Rates a model can use from raw bowling totals: [n,4] -> [n,5]."""
    balls, runs, wickets, dots = totals.T
    return np.stack(
        [
            np.log1p(balls),
            runs / np.maximum(balls, 1) * 6.0 / 8.0,  # economy
            wickets / np.maximum(balls, 1) * 20.0,
            dots / np.maximum(balls, 1),
            np.log1p(wickets),
        ],
        axis=1,
    ).astype(np.float32)
