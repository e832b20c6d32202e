"""The training-ready dataset: deliveries + causal features + train-fitted state + splits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cricket_gnn.data.archive import ProgressFn, load_archive
from cricket_gnn.data.career import CareerTable, batting_career, bowling_career
from cricket_gnn.data.features import ball_features, context_features, target_phase
from cricket_gnn.data.fitted import FittedState, fit_state
from cricket_gnn.data.table import DeliveryTable, split_of_days

IDENTITY_COLUMNS = {
    "striker_identity": ("batter", "players"),
    "nonstriker_identity": ("non_striker", "players"),
    "bowler_identity": ("bowler", "players"),
    "venue": ("venue", "venues"),
    "batting_team": ("batting_team", "teams"),
    "bowling_team": ("bowling_team", "teams"),
}


@dataclass
class CricketDataset:
    """Target deliveries (innings 1 and 2) of an archive with everything graphs need.

    Rows are whole innings, contiguous, in chronological order. `innings_ptr[i]` ..
    `innings_ptr[i+1]` are the rows of innings i; `innings_split[i]` is 0/1/2.
    """

    table: DeliveryTable
    fitted: FittedState
    columns: dict[str, np.ndarray]  # deliveries-table columns, target rows only
    context: dict[str, np.ndarray]  # normalised float32 features per context node type
    ids: dict[str, np.ndarray]  # vocabulary ids per identity node type (0 = unseen)
    ball_x: np.ndarray
    ball_ids: np.ndarray  # [n, 2] batter, bowler vocabulary ids of each ball node
    labels: np.ndarray
    phase: np.ndarray
    innings_ptr: np.ndarray
    innings_split: np.ndarray
    innings_match: np.ndarray
    batting: CareerTable
    bowling: CareerTable

    @property
    def data_version(self) -> str:
        return self.table.data_version

    def split_innings(self, split: str) -> np.ndarray:
        """Innings indices of 'train', 'val' or 'test'."""
        code = {"train": 0, "val": 1, "test": 2}[split]
        return np.flatnonzero(self.innings_split == code)

    def rows_of(self, innings: np.ndarray) -> np.ndarray:
        """Row indices of the given innings, in order."""
        starts, ends = self.innings_ptr[innings], self.innings_ptr[innings + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return np.arange(int(lengths.sum())) + offsets


def _select_target_rows(table: DeliveryTable, data_fraction: float, seed: int) -> np.ndarray:
    c = table.columns
    keep = c["is_target"].copy()
    if data_fraction < 1.0:
        if not 0.0 < data_fraction <= 1.0:
            raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction}")
        rng = np.random.default_rng(seed)
        split = table.match_split()
        chosen = np.zeros(table.num_matches, dtype=bool)
        # Whole matches, the same fraction of each split, so val/test stay meaningful.
        for code in range(3):
            matches = np.flatnonzero(split == code)
            count = max(1, round(len(matches) * data_fraction)) if len(matches) else 0
            chosen[rng.choice(matches, size=count, replace=False)] = True
        keep &= chosen[c["match"]]
    return np.flatnonzero(keep)


def build_dataset(
    table: DeliveryTable,
    data_fraction: float = 1.0,
    fraction_seed: int = 0,
    fitted: FittedState | None = None,
) -> CricketDataset:
    """Compute features and fit train-only state (unless `fitted` is given)."""
    full = table.columns
    batting = batting_career(full, table.num_matches)
    bowling = bowling_career(full, table.num_matches)
    rows = _select_target_rows(table, data_fraction, fraction_seed)
    c = {name: values[rows] for name, values in full.items()}
    # Renumber innings so ids are contiguous 0..k-1 over the kept rows.
    new_innings = np.ones(rows.shape[0], dtype=bool)
    new_innings[1:] = c["innings_id"][1:] != c["innings_id"][:-1]
    c["innings_id"] = (np.cumsum(new_innings) - 1).astype(np.int32)
    starts = np.flatnonzero(new_innings)
    innings_ptr = np.append(starts, rows.shape[0]).astype(np.int64)
    innings_match = c["match"][starts]
    innings_split = table.match_split()[innings_match]

    raw_context = context_features(c, batting, bowling)
    row_split = innings_split[c["innings_id"]]
    train_rows = row_split == 0
    if fitted is None:
        fitted = fit_state(
            player_names=table.players,
            venue_names=table.venues,
            team_names=table.teams,
            train_players=np.concatenate(
                [c[k][train_rows] for k in ("batter", "non_striker", "bowler")]
            ),
            train_venues=c["venue"][train_rows],
            train_teams=np.concatenate(
                [c["batting_team"][train_rows], c["bowling_team"][train_rows]]
            ),
            train_features={k: v[train_rows] for k, v in raw_context.items()},
            train_labels=c["label"][train_rows],
        )
    context = {name: fitted.normalise(name, values) for name, values in raw_context.items()}
    names = {"players": table.players, "venues": table.venues, "teams": table.teams}
    vocab = {kind: fitted.lookup(list(values), kind) for kind, values in names.items()}
    ids = {node: vocab[kind][c[column]] for node, (column, kind) in IDENTITY_COLUMNS.items()}
    return CricketDataset(
        table=table,
        fitted=fitted,
        columns=c,
        context=context,
        ids=ids,
        ball_x=ball_features(c),
        ball_ids=np.stack([ids["striker_identity"], ids["bowler_identity"]], axis=1),
        labels=c["label"].astype(np.int64),
        phase=target_phase(c),
        innings_ptr=innings_ptr,
        innings_split=innings_split,
        innings_match=innings_match,
        batting=batting,
        bowling=bowling,
    )


def load_dataset(
    path: str | Path,
    data_fraction: float = 1.0,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> CricketDataset:
    """Import (or load the cached) archive and build the dataset."""
    table = load_archive(path, cache_dir=cache_dir, progress=progress)
    return build_dataset(table, data_fraction=data_fraction)


def split_dates(table: DeliveryTable) -> dict[str, tuple[int, int, int]]:
    """(first day, last day, number of matches) per split."""
    split = split_of_days(table.match_dates)
    out = {}
    for code, name in enumerate(("train", "val", "test")):
        days = table.match_dates[split == code]
        out[name] = (int(days.min()), int(days.max()), int(days.size)) if days.size else (0, 0, 0)
    return out
