"""The online predictor answers exactly what the offline model says for the same prefix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from archive_innings import context_of, deliveries_of, innings_rows, next_ball_of

from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.inference.live import LiveInnings
from cricket_gnn.inference.predictor import Predictor
from cricket_gnn.inference.state import (
    CompactState,
    InningsState,
    InvalidInningsState,
    MatchContext,
    NextBall,
)
from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint


@pytest.fixture(scope="module")
def val_innings(small_dataset) -> int:
    return int(small_dataset.split_innings("val")[0])


@pytest.fixture(scope="module")
def predictor(small_dataset, checkpoint_file, val_innings) -> Predictor:
    # Careers strictly before the innings' match, exactly as the dataset computed them.
    match = int(small_dataset.innings_match[val_innings])
    return Predictor.from_checkpoint(
        checkpoint_file, small_dataset.table, careers_before_match=match
    )


def _offline_probs(small_dataset, checkpoint_file, innings: int) -> np.ndarray:
    checkpoint = load_checkpoint(checkpoint_file)
    model, _ = model_from_checkpoint(checkpoint)
    graph = HeteroDataBuilder(small_dataset).build_innings([innings])
    with torch.no_grad():
        logits = model(graph)
    return torch.softmax(logits / checkpoint["temperature"], dim=-1).numpy()


def _state(small_dataset, rows: np.ndarray, t: int) -> InningsState:
    return InningsState(
        context=context_of(small_dataset, rows[t]),
        deliveries=tuple(deliveries_of(small_dataset, rows[:t])),
        next_ball=next_ball_of(small_dataset, rows[t]),
    )


def test_prediction_equals_the_offline_model_for_the_same_innings_prefix(
    small_dataset, checkpoint_file, predictor, val_innings
):
    offline = _offline_probs(small_dataset, checkpoint_file, val_innings)
    rows = innings_rows(small_dataset, val_innings)
    for t in (0, 1, 6, 37, len(rows) - 1):
        prediction = predictor.predict(_state(small_dataset, rows, t))
        np.testing.assert_allclose(prediction.probabilities, offline[t], atol=1e-5, rtol=0)
        assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-6)


def test_batch_equals_one_at_a_time(small_dataset, predictor, val_innings):
    rows = innings_rows(small_dataset, val_innings)
    compact = CompactState(
        context=context_of(small_dataset, rows[0]),
        next_ball=next_ball_of(small_dataset, rows[0]),
        runs=40,
        wickets=1,
        over=5,
        ball=0,
    )
    states = [_state(small_dataset, rows, 3), compact, _state(small_dataset, rows, 20)]
    batch = predictor.predict_batch(states)
    for state, answer in zip(states, batch, strict=True):
        single = predictor.predict(state)
        np.testing.assert_allclose(answer.probabilities, single.probabilities, atol=1e-6)


def test_live_session_after_n_deliveries_equals_the_one_shot_prediction(
    small_dataset, predictor, val_innings
):
    rows = innings_rows(small_dataset, val_innings)
    deliveries = deliveries_of(small_dataset, rows)
    live = LiveInnings(predictor, context_of(small_dataset, rows[0]))
    appended = 0
    for n in (1, 5, 30, len(rows) - 1):
        live.append(deliveries[appended:n], next_ball_of(small_dataset, rows[n]))
        appended = n
        answer = live.predict(predictor)
        one_shot = predictor.predict(_state(small_dataset, rows, n))
        np.testing.assert_allclose(answer.probabilities, one_shot.probabilities, atol=1e-6)


def test_expected_runs_and_most_likely_follow_the_probabilities(small_dataset, predictor):
    state = CompactState(
        context=MatchContext(venue="Nowhere Oval", batting_team="A", bowling_team="B"),
        next_ball=NextBall(striker="x1", non_striker="x2", bowler="x3"),
        runs=50,
        wickets=2,
        over=7,
        ball=3,
    )
    prediction = predictor.predict(state)
    p = prediction.probabilities
    assert sum(p) == pytest.approx(1.0, abs=1e-6)
    assert prediction.expected_runs == pytest.approx(
        p[1] + 2 * p[2] + 3 * p[3] + 4 * p[4] + 6 * p[5]
    )
    assert (
        prediction.most_likely
        == ("dot", "single", "two", "three", "four", "six", "wicket")[int(np.argmax(p))]
    )


def test_unknown_players_venue_and_teams_take_the_cold_start_path(small_dataset, predictor):
    known = small_dataset.fitted.players[0]
    state = InningsState(
        context=MatchContext(venue="Nowhere Oval", batting_team="A", bowling_team="B"),
        next_ball=NextBall(striker=known, non_striker="new-batter", bowler="new-bowler"),
    )
    cold = predictor.predict(state).cold_start
    assert set(cold) == {"non_striker", "bowler", "venue", "batting_team", "bowling_team"}


def test_a_delivery_after_all_out_is_refused(predictor):
    wicket = {
        "over": 0,
        "batter": "a",
        "non_striker": "b",
        "bowler": "c",
        "runs": {"batter": 0, "extras": 0, "total": 0},
        "wickets": [{"kind": "bowled", "player_out": "a"}],
    }
    state = InningsState(
        context=MatchContext(venue="V", batting_team="A", bowling_team="B"),
        deliveries=tuple([wicket] * 11),
        next_ball=NextBall(striker="a", non_striker="b", bowler="c"),
    )
    with pytest.raises(InvalidInningsState, match="after all out") as info:
        predictor.predict(state)
    assert info.value.field == "deliveries[10]"


def test_unknown_extras_kind_names_the_delivery(predictor):
    bad = {
        "over": 0,
        "batter": "a",
        "non_striker": "b",
        "bowler": "c",
        "runs": {"batter": 0, "extras": 1, "total": 1},
        "extras": {"overthrows": 1},
    }
    state = InningsState(
        context=MatchContext(venue="V", batting_team="A", bowling_team="B"),
        deliveries=(bad,),
        next_ball=NextBall(striker="a", non_striker="b", bowler="c"),
    )
    with pytest.raises(InvalidInningsState, match="unknown extras kind") as info:
        predictor.predict(state)
    assert info.value.field == "deliveries[0]"


def test_compact_form_synthesises_the_scoreboard_features_of_the_full_form(
    small_dataset, predictor, val_innings
):
    from cricket_gnn.data.features import features_from_totals
    from cricket_gnn.inference.running import stack_rows

    def features(state: InningsState | CompactState) -> dict[str, np.ndarray]:
        prepared = predictor.prepare(state)
        totals = stack_rows(
            [prepared.pending],
            [prepared.context],
            predictor.match_index,
            predictor.batting,
            predictor.bowling,
        )
        return features_from_totals(totals)

    rows = innings_rows(small_dataset, val_innings)
    t = 45
    full_state = _state(small_dataset, rows, t)
    innings = predictor.new_innings()
    for i, delivery in enumerate(full_state.deliveries):
        innings.append(delivery, f"deliveries[{i}]")
    legal = innings.running_totals().legal_balls
    compact_state = CompactState(
        context=full_state.context,
        next_ball=full_state.next_ball,
        runs=innings.runs,
        wickets=innings.wickets,
        over=legal // 6,
        ball=legal % 6,
    )
    expected = features(full_state)
    got = features(compact_state)
    for name in ("score_state", "chase_state", "phase_state", "time_pressure"):
        exact = [0, 1, 2, 3] if name == "score_state" else slice(None)  # [4] = extras so far
        np.testing.assert_allclose(got[name][0, exact], expected[name][0, exact], atol=1e-6)
    for name in ("striker_identity", "nonstriker_identity", "bowler_identity"):
        np.testing.assert_allclose(got[name][0], expected[name][0], atol=1e-6)
