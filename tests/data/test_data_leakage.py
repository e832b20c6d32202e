"""Nothing from val/test reaches train-fitted state; career features look only backwards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cricket_gnn.data import CricketDataset, DeliveryTable, build_dataset
from cricket_gnn.data.career import batting_features, bowling_features
from cricket_gnn.data.schema import BOWLER_WICKET_KINDS, WICKET_KINDS
from tests.data.independent_count import count_archive

PLAYER_COLUMNS = ("batter", "non_striker", "bowler")


def _train_only(table: DeliveryTable) -> DeliveryTable:
    """The same archive with every val/test match removed."""
    # Matches are stored in date order, so the train matches are a prefix of the table.
    num_train = int((table.match_split() == 0).sum())
    rows = table.columns["match"] < num_train
    assert rows[: rows.sum()].all(), "train rows must be a prefix"
    return DeliveryTable(
        columns={name: values[rows] for name, values in table.columns.items()},
        match_ids=table.match_ids[:num_train],
        match_dates=table.match_dates[:num_train],
        players=table.players,
        player_names=table.player_names,
        venues=table.venues,
        teams=table.teams,
        data_version=table.data_version,
    )


def _names_in(table: DeliveryTable, split_code: int, kind: str) -> set[str]:
    c = table.columns
    rows = (table.match_split()[c["match"]] == split_code) & c["is_target"]
    if kind == "players":
        ids = np.concatenate([c[col][rows] for col in PLAYER_COLUMNS])
        return {table.players[i] for i in np.unique(ids)}
    if kind == "venues":
        return {table.venues[i] for i in np.unique(c["venue"][rows])}
    ids = np.concatenate([c["batting_team"][rows], c["bowling_team"][rows]])
    return {table.teams[i] for i in np.unique(ids)}


@pytest.mark.parametrize("kind", ["players", "venues", "teams"])
def test_vocabularies_hold_exactly_what_train_matches_show(
    real_dataset: CricketDataset, kind: str
) -> None:
    table = real_dataset.table
    vocab = set(getattr(real_dataset.fitted, kind))
    assert vocab == _names_in(table, 0, kind)
    if kind != "teams":
        # Newcomers after the cut-off exist and take the cold-start slot 0.
        newcomers = (_names_in(table, 1, kind) | _names_in(table, 2, kind)) - vocab
        assert newcomers
        assert (real_dataset.fitted.lookup(sorted(newcomers), kind) == 0).all()


def test_unseen_players_get_vocabulary_id_zero_in_val_and_test(
    real_dataset: CricketDataset,
) -> None:
    table = real_dataset.table
    vocab = set(real_dataset.fitted.players)
    striker = real_dataset.columns["batter"]
    unseen = np.array([table.players[i] not in vocab for i in striker])
    ids = real_dataset.ids["striker_identity"]
    assert ((ids == 0) == unseen).all()
    row_split = real_dataset.innings_split[real_dataset.columns["innings_id"]]
    assert not unseen[row_split == 0].any()
    assert unseen[row_split > 0].any()


def test_fitted_state_is_unchanged_by_removing_every_val_and_test_match(
    real_dataset: CricketDataset,
) -> None:
    # The strongest form of "fitted on train only": val/test matches cannot move any
    # vocabulary entry, normaliser or prior, because the state is the same without them.
    from_train_only = build_dataset(_train_only(real_dataset.table)).fitted
    assert from_train_only == real_dataset.fitted


def test_class_priors_are_train_label_frequencies(
    real_dataset: CricketDataset, archive_path: Path
) -> None:
    train = count_archive(archive_path).split_classes["train"]
    total = sum(train.values())
    expected = [train[c] / total for c in range(7)]
    np.testing.assert_allclose(real_dataset.fitted.class_priors, expected, rtol=1e-12)


def _brute_force_batting(table: DeliveryTable, player: int, match: int) -> np.ndarray:
    c = table.columns
    earlier = c["match"] < match
    faced = earlier & (c["batter"] == player) & (c["wides"] == 0)
    runs = c["runs_batter"][earlier & (c["batter"] == player)]
    batted = earlier & ((c["batter"] == player) | (c["non_striker"] == player))
    outs = earlier & (c["player_out"] == player) & c["is_dismissal"]
    return np.array(
        [
            np.unique(c["match"][batted]).size,
            faced.sum(),
            runs.sum(),
            outs.sum(),
            ((runs == 4) | (runs == 5)).sum(),
            (runs >= 6).sum(),
            (faced & (c["runs_batter"] == 0)).sum(),
        ],
        dtype=np.float64,
    )


def _brute_force_bowling(table: DeliveryTable, player: int, match: int) -> np.ndarray:
    c = table.columns
    bowled = (c["match"] < match) & (c["bowler"] == player)
    legal = bowled & (c["wides"] == 0) & (c["noballs"] == 0)
    conceded = c["runs_batter"] + c["wides"] + c["noballs"]
    credited = [i for i, kind in enumerate(WICKET_KINDS) if kind in BOWLER_WICKET_KINDS]
    return np.array(
        [
            legal.sum(),
            conceded[bowled].sum(),
            np.isin(c["wicket_kind"][bowled], credited).sum(),
            (legal & (c["runs_total"] == 0)).sum(),
        ],
        dtype=np.float64,
    )


def _appearances(dataset: CricketDataset, column: str, player: int) -> np.ndarray:
    """Target rows where `player` is in `column`: debut, a middle match, the last match."""
    rows = np.flatnonzero(dataset.columns[column] == player)
    matches = dataset.columns["match"][rows]
    firsts = rows[np.unique(matches, return_index=True)[1]]
    return firsts[[0, len(firsts) // 2, -1]]


@pytest.mark.parametrize("rank", [0, 7, 40])
def test_career_statistics_count_only_strictly_earlier_matches(
    real_dataset: CricketDataset, rank: int
) -> None:
    table, c = real_dataset.table, real_dataset.columns
    fitted = real_dataset.fitted
    busiest_batter = np.argsort(-np.bincount(c["batter"]))[rank]
    busiest_bowler = np.argsort(-np.bincount(c["bowler"]))[rank]
    for row in _appearances(real_dataset, "batter", busiest_batter):
        match = int(c["match"][row])
        expected = _brute_force_batting(table, busiest_batter, match)
        got = real_dataset.batting.before(np.array([busiest_batter]), np.array([match]))[0]
        np.testing.assert_array_equal(got, expected)
        # ...and that is what the striker's identity node carries on this delivery.
        feature = fitted.normalise("striker_identity", batting_features(expected[None]))
        np.testing.assert_allclose(real_dataset.context["striker_identity"][row], feature[0])
    for row in _appearances(real_dataset, "bowler", busiest_bowler):
        match = int(c["match"][row])
        expected = _brute_force_bowling(table, busiest_bowler, match)
        got = real_dataset.bowling.before(np.array([busiest_bowler]), np.array([match]))[0]
        np.testing.assert_array_equal(got, expected)
        feature = fitted.normalise("bowler_identity", bowling_features(expected[None]))
        np.testing.assert_allclose(real_dataset.context["bowler_identity"][row], feature[0])
    every_match = np.concatenate([table.columns[col] == busiest_batter for col in PLAYER_COLUMNS])
    debut = int(np.tile(table.columns["match"], 3)[every_match].min())
    assert not real_dataset.batting.before(np.array([busiest_batter]), np.array([debut])).any()
