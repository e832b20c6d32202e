"""The columnar deliveries table: one row per delivery, numpy columns, saved as .npz."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cricket_gnn.data.cricsheet import ParsedMatch
from cricket_gnn.data.schema import CLASS_RUNS, TEST_START, VAL_START, WICKET_CLASS

_EPOCH = dt.date(1970, 1, 1)


@dataclass
class DeliveryTable:
    """Deliveries in (match date, match id, innings, ball) order plus lookup lists.

    Integer columns `batter`, `non_striker`, `bowler`, `player_out` index `players`
    (registry ids; -1 = none); `venue` indexes `venues`; team columns index `teams`;
    `match` indexes the per-match columns `match_ids`, `match_dates`.
    """

    columns: dict[str, np.ndarray]
    match_ids: np.ndarray  # str, one per match
    match_dates: np.ndarray  # int32 days since 1970-01-01, one per match
    players: list[str]
    player_names: list[str]
    venues: list[str]
    teams: list[str]
    data_version: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.columns["label"].shape[0])

    @property
    def num_matches(self) -> int:
        return int(self.match_ids.shape[0])

    def match_split(self) -> np.ndarray:
        """0 train, 1 val, 2 test for each match, by date."""
        return split_of_days(self.match_dates)

    def save(self, path: Path) -> None:
        """Write the table to one .npz file (atomically)."""
        # A per-process temporary name: DDP ranks may import the same archive at once.
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            match_ids=self.match_ids,
            match_dates=self.match_dates,
            players=np.array(self.players, dtype=str),
            player_names=np.array(self.player_names, dtype=str),
            venues=np.array(self.venues, dtype=str),
            teams=np.array(self.teams, dtype=str),
            data_version=np.array(self.data_version),
            skipped=np.array(self.skipped, dtype=str).reshape(-1, 2),
            **{f"col_{name}": values for name, values in self.columns.items()},  # type: ignore[arg-type]
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DeliveryTable:
        """Read a table written by `save`."""
        with np.load(path, allow_pickle=False) as npz:
            return cls(
                columns={k[4:]: npz[k] for k in npz.files if k.startswith("col_")},
                match_ids=npz["match_ids"],
                match_dates=npz["match_dates"],
                players=npz["players"].tolist(),
                player_names=npz["player_names"].tolist(),
                venues=npz["venues"].tolist(),
                teams=npz["teams"].tolist(),
                data_version=str(npz["data_version"]),
                skipped=[(str(a), str(b)) for a, b in npz["skipped"]],
            )


def day_number(date: dt.date | str) -> int:
    """Days since 1970-01-01."""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return (date - _EPOCH).days


def day_to_iso(day: int) -> str:
    """Inverse of day_number."""
    return (_EPOCH + dt.timedelta(days=int(day))).isoformat()


def split_of_days(days: np.ndarray) -> np.ndarray:
    """0 train, 1 val, 2 test: train < VAL_START <= val < TEST_START <= test."""
    split = np.zeros(days.shape, dtype=np.int8)
    split[days >= day_number(VAL_START)] = 1
    split[days >= day_number(TEST_START)] = 2
    return split


def labels_from(runs_batter: np.ndarray, is_dismissal: np.ndarray) -> np.ndarray:
    """DESIGN §2 labels: wicket if a dismissal fell, else by runs off the bat."""
    by_runs = np.array([0, 1, 2, 3, 4, 4, 5], dtype=np.int8)  # 5 runs -> four, 6+ -> six
    label = by_runs[np.minimum(runs_batter, 6)]
    label[is_dismissal] = WICKET_CLASS
    return label


def _index(values: list[str], lookup: dict[str, int], names: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int32)
    for i, value in enumerate(values):
        if value == "":
            out[i] = -1
            continue
        idx = lookup.get(value)
        if idx is None:
            idx = lookup[value] = len(names)
            names.append(value)
        out[i] = idx
    return out


def build_table(matches: Sequence[ParsedMatch], skipped: list[tuple[str, str]]) -> DeliveryTable:
    """Assemble parsed matches into one DeliveryTable in chronological order."""
    matches = sorted(matches, key=lambda m: (m.date, m.match_id))
    players: list[str] = []
    player_lookup: dict[str, int] = {}
    venues: list[str] = []
    teams: list[str] = []
    venue_lookup: dict[str, int] = {}
    team_lookup: dict[str, int] = {}
    names: dict[str, str] = {}
    cols: dict[str, list[np.ndarray]] = {}
    for match_index, match in enumerate(matches):
        names.update(match.people)
        n = len(match.rows["innings"])
        part: dict[str, np.ndarray] = {
            "match": np.full(n, match_index, dtype=np.int32),
            "innings": np.asarray(match.rows["innings"], dtype=np.int8),
            "super_over": np.asarray(match.rows["super_over"], dtype=bool),
            "over": np.asarray(match.rows["over"], dtype=np.int8),
            "venue": np.full(n, _index([match.venue], venue_lookup, venues)[0], dtype=np.int32),
            "batting_team": _index(match.rows["batting_team"], team_lookup, teams),
            "bowling_team": _index(match.rows["bowling_team"], team_lookup, teams),
            "is_dismissal": np.asarray(match.rows["is_dismissal"], dtype=bool),
            "target_runs": np.asarray(match.rows["target_runs"], dtype=np.int16),
            "target_overs": np.asarray(match.rows["target_overs"], dtype=np.float32),
            "wicket_kind": np.asarray(match.rows["wicket_kind"], dtype=np.int8),
        }
        for name in ("batter", "non_striker", "bowler", "player_out"):
            part[name] = _index(match.rows[name], player_lookup, players)
        for name in ("runs_batter", "runs_extras", "runs_total"):
            part[name] = np.asarray(match.rows[name], dtype=np.int16)
        for name in ("wides", "noballs", "byes", "legbyes", "penalty"):
            part[name] = np.asarray(match.rows[name], dtype=np.int8)
        for name, values in part.items():
            cols.setdefault(name, []).append(values)
    if not matches:
        raise ValueError("no usable matches in the input")
    columns = {name: np.concatenate(parts) for name, parts in cols.items()}
    add_derived_columns(columns)
    return DeliveryTable(
        columns=columns,
        match_ids=np.array([m.match_id for m in matches], dtype=str),
        match_dates=np.array([day_number(m.date) for m in matches], dtype=np.int32),
        players=players,
        player_names=[names.get(pid, pid) for pid in players],
        venues=venues,
        teams=teams,
        skipped=skipped,
    )


def add_derived_columns(columns: dict[str, np.ndarray]) -> None:
    """Innings ids, ball positions counted in legal balls, labels and target flags."""
    match = columns["match"]
    innings = columns["innings"]
    n = match.shape[0]
    new_innings = np.ones(n, dtype=bool)
    new_innings[1:] = (match[1:] != match[:-1]) | (innings[1:] != innings[:-1])
    innings_id = np.cumsum(new_innings) - 1
    starts = np.flatnonzero(new_innings)
    position = np.arange(n) - starts[innings_id]
    legal = (columns["wides"] == 0) & (columns["noballs"] == 0)
    legal_cum = np.cumsum(legal) - legal  # legal balls before this one, globally
    legal_before = legal_cum - legal_cum[starts][innings_id]
    columns["innings_id"] = innings_id.astype(np.int32)
    columns["delivery_index"] = position.astype(np.int16)
    columns["is_legal"] = legal
    columns["legal_ball_index"] = legal_before.astype(np.int16)
    # Overs always count legal balls, whatever Cricsheet's over field says.
    columns["legal_over"] = (legal_before // 6).astype(np.int8)
    columns["ball_in_over"] = (legal_before % 6).astype(np.int8)
    columns["label"] = labels_from(columns["runs_batter"], columns["is_dismissal"])
    columns["is_target"] = (innings <= 2) & ~columns["super_over"]


def class_runs(label: np.ndarray) -> np.ndarray:
    """Runs off the bat that each label stands for."""
    return np.asarray(CLASS_RUNS, dtype=np.int16)[label]
