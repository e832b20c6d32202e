"""Label, ball-position and target rules on hand-written matches (DESIGN §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cricket_gnn.data import CLASS_NAMES, DeliveryTable, build_dataset, load_archive
from cricket_gnn.data.features import context_features
from tests.cricsheet_factory import AWAY, HOME, ball, innings, match, simple_match, write_folder


def pair(runs: int, **kwargs: Any) -> dict[str, Any]:
    """A delivery to A3 with A4 at the other end (the pair after two departures)."""
    return ball(runs, batter="A3", non_striker="A4", **kwargs)


# (delivery, expected class, counts as a legal ball), in the order bowled in innings 1.
FIRST_INNINGS = [
    (ball(0), "dot", True),
    (ball(0, wides=1), "dot", False),
    (ball(0, wides=5), "dot", False),  # a wide that ran away for four wides
    (ball(4, noballs=1), "four", False),  # runs off a no-ball still count for the batter
    (ball(0, byes=4), "dot", True),
    (ball(0, legbyes=1), "dot", True),
    (ball(0, wides=1, out="A1", kind="run out"), "wicket", False),
    (ball(0, batter="A2", non_striker="A3", out="A2", kind="retired hurt"), "dot", True),
    (ball(1, batter="A3", non_striker="A5", out="A3", kind="retired not out"), "single", True),
    (pair(5), "four", True),  # five off the bat (overthrows) is a four
    (pair(6), "six", True),
    (pair(7), "six", True),  # six plus an overthrow
    (pair(1, out="A4", kind="run out"), "wicket", True),  # a run completed, then out
    (pair(2), "two", True),
    (pair(3), "three", True),
    (pair(0, out="A3", kind="bowled"), "wicket", True),
]
CHASE = [ball(1, batter="B1", non_striker="B2", bowler="A1") for _ in range(3)]
SUPER_OVER = [ball(6, batter="A5", non_striker="A6"), ball(0, batter="A5", non_striker="A6")]


def _load(tmp_path: Path, files: dict[str, Any]) -> DeliveryTable:
    folder = write_folder(tmp_path / "matches", files)
    return load_archive(folder, cache_dir=tmp_path / "cache")


@pytest.fixture
def rules_table(tmp_path: Path) -> DeliveryTable:
    doc = match(
        [
            innings(HOME, [d for d, _, _ in FIRST_INNINGS]),
            innings(AWAY, CHASE, target={"overs": 12, "runs": 110}),  # DLS-revised
            innings(HOME, SUPER_OVER, super_over=True),
            innings(AWAY, SUPER_OVER, super_over=True, target={"overs": 1, "runs": 7}),
        ]
    )
    return _load(tmp_path, {"9001.json": doc})


def _rows(table: DeliveryTable, innings_number: int) -> np.ndarray:
    return np.flatnonzero(table.columns["innings"] == innings_number)


def test_each_delivery_gets_the_class_its_outcome_deserves(rules_table: DeliveryTable) -> None:
    first = _rows(rules_table, 1)
    labels = [CLASS_NAMES[i] for i in rules_table.columns["label"][first]]
    assert labels == [expected for _, expected, _ in FIRST_INNINGS]


def test_wides_and_no_balls_are_targets_but_not_legal_balls(rules_table: DeliveryTable) -> None:
    c = rules_table.columns
    first = _rows(rules_table, 1)
    legal = [is_legal for _, _, is_legal in FIRST_INNINGS]
    assert c["is_legal"][first].tolist() == legal
    assert c["is_target"][first].all()
    # legal_ball_index counts legal balls bowled before each delivery.
    expected_index = np.cumsum([0, *legal[:-1]])
    assert c["legal_ball_index"][first].tolist() == expected_index.tolist()
    assert c["legal_over"][first].tolist() == (expected_index // 6).tolist()
    assert c["ball_in_over"][first].tolist() == (expected_index % 6).tolist()


def test_super_overs_are_kept_in_the_table_but_never_targets(rules_table: DeliveryTable) -> None:
    c = rules_table.columns
    assert c["super_over"][_rows(rules_table, 3)].all()
    assert not c["is_target"][np.concatenate([_rows(rules_table, 3), _rows(rules_table, 4)])].any()
    dataset = build_dataset(rules_table)
    assert len(dataset.labels) == len(FIRST_INNINGS) + len(CHASE)
    assert set(dataset.columns["innings"].tolist()) == {1, 2}


def test_a_dls_revised_target_is_used_as_published(rules_table: DeliveryTable) -> None:
    c = rules_table.columns
    chase = _rows(rules_table, 2)
    assert set(c["target_runs"][chase].tolist()) == {110}
    assert set(c["target_overs"][chase].tolist()) == {12.0}
    first = _rows(rules_table, 1)
    assert set(c["target_runs"][first].tolist()) == {0}
    # The chase's clock is the revised 12 overs, not a fixed 120 balls.
    dataset = build_dataset(rules_table)
    raw = context_features(dataset.columns, dataset.batting, dataset.bowling)
    in_chase = dataset.columns["innings"] == 2
    balls_limit = raw["time_pressure"][in_chase, 3] * 120
    np.testing.assert_allclose(balls_limit, 72.0)
    balls_left = raw["time_pressure"][in_chase, 0] * 120
    np.testing.assert_allclose(balls_left, [72.0, 71.0, 70.0])


def test_a_file_without_target_chases_first_innings_plus_one_over_20_overs(
    tmp_path: Path,
) -> None:
    doc = simple_match(version="1.0.0")
    del doc["innings"][1]["target"]
    table = _load(tmp_path, {"9002.json": doc})
    chase = _rows(table, 2)
    first_total = int(table.columns["runs_total"][_rows(table, 1)].sum())
    assert first_total == 5
    assert set(table.columns["target_runs"][chase].tolist()) == {first_total + 1}
    assert set(table.columns["target_overs"][chase].tolist()) == {20.0}


def test_overs_and_phases_count_legal_balls_whatever_the_over_field_says(
    tmp_path: Path,
) -> None:
    # The scorer's "over 0" holds seven legal balls (a miscounted over, as Cricsheet
    # records them); the seventh is really the first ball of the second over.
    miscounted = {"team": HOME, "overs": [{"over": 0, "deliveries": [ball(0)] * 7}]}
    full = innings(HOME, [ball(1) for _ in range(120)])
    files = {
        "9003.json": match([miscounted]),
        "9004.json": match([full], date="2023-03-02"),
    }
    table = _load(tmp_path, files)
    short = table.columns["match"] == 0
    assert table.columns["legal_over"][short].tolist() == [0] * 6 + [1]
    assert table.columns["ball_in_over"][short].tolist() == [0, 1, 2, 3, 4, 5, 0]
    dataset = build_dataset(table)
    long_phase = dataset.phase[dataset.columns["match"] == 1]
    # powerplay overs 0-5, middle_1 6-10, middle_2 11-14, death_1 15-17, death_2 18-19.
    expected = np.repeat([0, 1, 2, 3, 4], np.array([6, 5, 4, 3, 2]) * 6)
    assert long_phase.tolist() == expected.tolist()
