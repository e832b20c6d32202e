"""Turn archived dataset rows back into the API's inputs (Cricsheet deliveries)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.data.schema import WICKET_KINDS
from cricket_gnn.inference.state import MatchContext, NextBall


def innings_rows(dataset: CricketDataset, innings: int) -> np.ndarray:
    return dataset.rows_of(np.array([innings]))


def deliveries_of(dataset: CricketDataset, rows: np.ndarray) -> list[dict[str, Any]]:
    c, players = dataset.columns, dataset.table.players
    out = []
    for r in rows:
        delivery: dict[str, Any] = {
            "over": int(c["over"][r]),
            "batter": players[c["batter"][r]],
            "non_striker": players[c["non_striker"][r]],
            "bowler": players[c["bowler"][r]],
            "runs": {
                "batter": int(c["runs_batter"][r]),
                "extras": int(c["runs_extras"][r]),
                "total": int(c["runs_total"][r]),
            },
        }
        extras = {k: int(c[k][r]) for k in ("wides", "noballs", "byes", "legbyes", "penalty")}
        delivery["extras"] = {k: v for k, v in extras.items() if v}
        if c["wicket_kind"][r] > 0:
            delivery["wickets"] = [
                {
                    "kind": WICKET_KINDS[c["wicket_kind"][r]],
                    "player_out": players[c["player_out"][r]],
                }
            ]
        out.append(delivery)
    return out


def context_of(dataset: CricketDataset, row: int) -> MatchContext:
    c, table = dataset.columns, dataset.table
    return MatchContext(
        venue=table.venues[c["venue"][row]],
        batting_team=table.teams[c["batting_team"][row]],
        bowling_team=table.teams[c["bowling_team"][row]],
        innings=int(c["innings"][row]),
        target_runs=int(c["target_runs"][row]),
        target_overs=float(c["target_overs"][row]),
    )


def next_ball_of(dataset: CricketDataset, row: int) -> NextBall:
    c, players = dataset.columns, dataset.table.players
    return NextBall(
        striker=players[c["batter"][row]],
        non_striker=players[c["non_striker"][row]],
        bowler=players[c["bowler"][row]],
    )
