"""Micro-batched single predictions answer exactly what each request alone would get."""

from __future__ import annotations

import threading

import numpy as np
from model_fixtures import context, delivery, next_ball

from api.predict.batching import MicroBatcher
from cricket_gnn.inference.predictor import History, Predictor
from cricket_gnn.inference.state import CompactState, InningsState, MatchContext, NextBall


def _states() -> list[InningsState | CompactState]:
    runs = [0, 1, 4, 0, 6, 2, 0, 1, 0, 3]
    deliveries = tuple(delivery(over=i // 6, runs=runs[i % 10]) for i in range(40))
    chase = MatchContext(**context(innings=2, target_runs=150, target_overs=20))
    states: list[InningsState | CompactState] = [
        InningsState(
            context=MatchContext(**context()),
            deliveries=deliveries[:n],
            next_ball=NextBall(**next_ball()),
        )
        for n in (0, 3, 17, 40)
    ]
    states.append(
        InningsState(context=chase, deliveries=deliveries[:25], next_ball=NextBall(**next_ball()))
    )
    states.append(
        CompactState(
            context=chase, next_ball=NextBall(**next_ball()), runs=60, wickets=2, over=8, ball=4
        )
    )
    return states


def _predictors(history_table, checkpoint_files) -> list[Predictor]:
    history = History(history_table)
    return [Predictor.from_checkpoint(path, history) for path in checkpoint_files[:2]]


def test_one_merged_forward_equals_each_state_alone(history_table, checkpoint_files):
    predictor = _predictors(history_table, checkpoint_files)[0]
    states = _states()
    merged = predictor.predict_prepared([predictor.prepare(s) for s in states])
    for state, answer in zip(states, merged, strict=True):
        alone = predictor.predict(state)
        np.testing.assert_allclose(answer.probabilities, alone.probabilities, atol=1e-6)
        assert answer.cold_start == alone.cold_start


def test_concurrent_requests_each_get_their_own_models_answer(history_table, checkpoint_files):
    predictors = _predictors(history_table, checkpoint_files)
    states = _states()
    expected = {
        (p, s): predictors[p].predict(states[s]).probabilities
        for p in range(2)
        for s in range(len(states))
    }
    batcher = MicroBatcher(max_batch=4)
    start = threading.Barrier(12)
    got: dict[tuple[int, int], list[tuple[float, ...]]] = {}
    errors: list[BaseException] = []

    def client(thread: int) -> None:
        # Half the threads ask the promoted model, as happens while a swap lands.
        p, s = thread % 2, thread % len(states)
        start.wait()
        try:
            for _ in range(5):
                prepared = predictors[p].prepare(states[s])
                answer = batcher.predict(predictors[p], prepared)
                got.setdefault((p, s), []).append(answer.probabilities)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(len(v) for v in got.values()) == 60
    for key, answers in got.items():
        for answer in answers:
            np.testing.assert_allclose(answer, expected[key], atol=1e-6)
