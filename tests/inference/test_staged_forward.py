"""The two-stage online forward (cached ball states) answers what the offline model says.

For every variant: one-shot states, a batch of every prefix of an innings (sharing its
ball nodes) and a live session fed ball by ball (extending its cached ball states) all
equal the whole-innings offline forward, delivery by delivery, to 1e-5 — with the
balls encoded and pending rows scored by eager PyTorch, and by the model's graphs
exported to onnxruntime (what the API serves with).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from archive_innings import context_of, deliveries_of, innings_rows, next_ball_of

from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.inference.exported import exported_for
from cricket_gnn.inference.live import LiveInnings
from cricket_gnn.inference.predictor import History, Predictor
from cricket_gnn.inference.state import InningsState
from cricket_gnn.models import MODEL_NAMES, ModelConfig, build_model

VARIANTS = [(name, {}) for name in MODEL_NAMES] + [("full", {"use_hierarchical": False})]
TEMPERATURE = 1.3
SCORERS = ["torch", "onnx"]  # who runs the staged forward


@pytest.fixture(scope="module")
def history(small_dataset) -> History:
    return History(small_dataset.table)


@pytest.fixture(scope="module")
def innings(small_dataset) -> int:
    # A second innings (a chase) exercises the chase head and chase features too.
    val = small_dataset.split_innings("val")
    chases = [
        i for i in val if small_dataset.columns["innings"][innings_rows(small_dataset, i)[0]] == 2
    ]
    return int(chases[0])


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory):
    # Both tests of a variant build the same weights (seed 7): the second reads the export.
    return tmp_path_factory.mktemp("onnx")


def _setup(
    small_dataset,
    history: History,
    innings: int,
    name: str,
    overrides: dict,
    scorer: str = "torch",
    onnx_cache=None,
) -> tuple[Predictor, np.ndarray]:
    torch.manual_seed(7)
    fitted = small_dataset.fitted
    config = ModelConfig(
        model=name,
        hidden_dim=16,
        num_layers=3,
        num_heads=2,
        dropout=0.0,
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
        **overrides,
    )
    model = build_model(config).eval()
    with torch.no_grad():  # FiLM starts as the identity: give it something to do
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    graph = HeteroDataBuilder(small_dataset).build_innings([innings])
    with torch.no_grad():
        offline = torch.softmax(model(graph) / TEMPERATURE, dim=-1).numpy()
    match = int(small_dataset.innings_match[innings])
    predictor = Predictor(
        model=model,
        fitted=fitted,
        temperature=TEMPERATURE,
        history=history,
        careers_before_match=match,
    )
    if scorer == "onnx":
        key = hashlib.sha256(f"{name}-{sorted(overrides.items())}-seed7".encode()).hexdigest()
        exported = exported_for(model, key, onnx_cache)
        assert exported is not None, "the export failed: see the log"
        exported.install(predictor)
    return predictor, offline


def _states(small_dataset, rows: np.ndarray) -> list[InningsState]:
    deliveries = tuple(deliveries_of(small_dataset, rows))
    return [
        InningsState(
            context=context_of(small_dataset, rows[t]),
            deliveries=deliveries[:t],
            next_ball=next_ball_of(small_dataset, rows[t]),
        )
        for t in range(len(rows))
    ]


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize(("name", "overrides"), VARIANTS)
def test_every_prefix_in_one_batch_equals_the_offline_forward(
    small_dataset, history, innings, name, overrides, scorer, onnx_cache
):
    predictor, offline = _setup(
        small_dataset, history, innings, name, overrides, scorer, onnx_cache
    )
    rows = innings_rows(small_dataset, innings)
    states = _states(small_dataset, rows)
    batch = predictor.predict_batch(states[::-1])[::-1]  # order must not matter
    got = np.array([p.probabilities for p in batch])
    np.testing.assert_allclose(got, offline, atol=1e-5, rtol=0)
    for t in (0, 1, len(rows) // 2, len(rows) - 1):  # and alone, without shared balls
        alone = predictor.predict(states[t]).probabilities
        np.testing.assert_allclose(alone, offline[t], atol=1e-5, rtol=0)


@pytest.mark.parametrize("scorer", SCORERS)
@pytest.mark.parametrize(("name", "overrides"), VARIANTS)
def test_a_live_session_fed_ball_by_ball_equals_the_offline_forward(
    small_dataset, history, innings, name, overrides, scorer, onnx_cache
):
    predictor, offline = _setup(
        small_dataset, history, innings, name, overrides, scorer, onnx_cache
    )
    rows = innings_rows(small_dataset, innings)
    deliveries = deliveries_of(small_dataset, rows)
    live = LiveInnings(predictor, context_of(small_dataset, rows[0]))
    # One ball at a time, then a few at once: the cached ball states must follow both.
    steps = list(range(1, 25)) + list(range(30, len(rows), 11)) + [len(rows) - 1]
    appended = 0
    answer = live.predict(predictor, next_ball_of(small_dataset, rows[0]))
    np.testing.assert_allclose(answer.probabilities, offline[0], atol=1e-5, rtol=0)
    for n in steps:
        if n <= appended:
            continue
        live.append(deliveries[appended:n], next_ball_of(small_dataset, rows[n]))
        appended = n
        answer = live.predict(predictor)
        np.testing.assert_allclose(answer.probabilities, offline[n], atol=1e-5, rtol=0)


def test_a_promoted_model_takes_over_a_live_session_with_its_own_ball_states(
    small_dataset, history, innings
):
    first, _ = _setup(small_dataset, history, innings, "base", {})
    second, offline = _setup(small_dataset, history, innings, "full", {})
    rows = innings_rows(small_dataset, innings)
    deliveries = deliveries_of(small_dataset, rows)
    live = LiveInnings(first, context_of(small_dataset, rows[0]))
    live.append(deliveries[:20], next_ball_of(small_dataset, rows[20]))
    live.predict(first)
    live.append(deliveries[20:21], next_ball_of(small_dataset, rows[21]))
    answer = live.predict(second)
    np.testing.assert_allclose(answer.probabilities, offline[21], atol=1e-5, rtol=0)
