"""/v1/predict and /v1/matches against a served model: answers, validation, cold start."""

from __future__ import annotations

import pytest
from model_fixtures import (
    BOWLER,
    NON_STRIKER,
    STRIKER,
    add_run_with_checkpoint,
    context,
    delivery,
    model_server_for,
    next_ball,
)

CLASSES = ["dot", "single", "two", "three", "four", "six", "wicket"]


@pytest.fixture
def production(served_client, db, settings, checkpoint_files):
    """The client with model version 1 of 3 registered versions in production."""
    versions = []
    for path in checkpoint_files:
        run = add_run_with_checkpoint(db, settings, path)
        versions.append(served_client.post("/v1/models", json={"run_id": run.id}).json()["version"])
    promoted = served_client.post(f"/v1/models/{versions[0]}/promote")
    assert promoted.status_code == 200, promoted.text
    served_client.versions = versions
    return served_client


def _innings(n: int) -> list[dict]:
    runs = [0, 1, 4, 0, 6, 2, 0, 1, 0, 3]
    return [delivery(over=i // 6, runs=runs[i % len(runs)]) for i in range(n)]


def test_no_production_model_is_503_saying_how_to_promote(served_client):
    response = served_client.post(
        "/v1/predict", json={"context": context(), "next_ball": next_ball()}
    )
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "no_production_model"
    assert "POST /v1/models/{version}/promote?alias=production" in body["hint"]


def test_full_and_compact_forms_answer_with_a_distribution(production):
    full = production.post(
        "/v1/predict",
        json={"context": context(), "deliveries": _innings(9), "next_ball": next_ball()},
    )
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["class_order"] == CLASSES and list(body["probabilities"]) == CLASSES
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    p = body["probabilities"]
    expected = p["single"] + 2 * p["two"] + 3 * p["three"] + 4 * p["four"] + 6 * p["six"]
    assert body["expected_runs"] == pytest.approx(expected)
    assert body["most_likely"] == max(p, key=p.get)
    assert body["model_version"] == production.versions[0]
    assert body["cold_start"] == []  # every name is in the checkpoint's vocabulary

    compact = production.post(
        "/v1/predict",
        json={
            "context": context(innings=2, target_runs=160, target_overs=20),
            "next_ball": next_ball(),
            "live": {"runs": 87, "wickets": 3, "over": 11, "ball": 2},
        },
    )
    assert compact.status_code == 200, compact.text
    assert sum(compact.json()["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)


def test_batch_answers_each_item_like_a_single_request(production):
    items = [
        {"context": context(), "deliveries": _innings(n), "next_ball": next_ball()}
        for n in (0, 5, 13)
    ]
    batch = production.post("/v1/predict/batch", json={"items": items})
    assert batch.status_code == 200, batch.text
    for item, answer in zip(items, batch.json()["items"], strict=True):
        single = production.post("/v1/predict", json=item).json()
        for name in CLASSES:
            assert answer["probabilities"][name] == pytest.approx(
                single["probabilities"][name], abs=1e-6
            )


def test_the_served_model_runs_its_onnx_export(
    served_client, db, settings, checkpoint_files, history_table, tmp_path
):
    from api.models import repository
    from cricket_gnn.inference.exported import ExportedEncoder, ExportedScorer
    from cricket_gnn.inference.predictor import History, Predictor
    from cricket_gnn.inference.state import InningsState, MatchContext, NextBall

    server = model_server_for(settings, history_table, onnx_cache=tmp_path / "onnx")
    served_client.app.state.model_server = server
    run = add_run_with_checkpoint(db, settings, checkpoint_files[0])
    version = served_client.post("/v1/models", json={"run_id": run.id}).json()["version"]
    assert served_client.post(f"/v1/models/{version}/promote").status_code == 200
    # The export runs in a process of its own; the model serves on PyTorch meanwhile.
    server.exports[version].join(timeout=300)
    assert served_client.get("/readyz").json()["model"]["runtime"] == "onnxruntime"
    assert isinstance(server.served.predictor.score_rows, ExportedScorer)
    assert isinstance(server.served.predictor.encode_balls, ExportedEncoder)
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2  # kept for the next load

    body = {"context": context(innings=2, target_runs=150), "deliveries": _innings(17)}
    answer = served_client.post("/v1/predict", json=body | {"next_ball": next_ball()})
    assert answer.status_code == 200, answer.text
    eager = Predictor.from_checkpoint(checkpoint_files[0], History(history_table))
    state = InningsState(
        context=MatchContext(**body["context"]),
        deliveries=tuple(body["deliveries"]),
        next_ball=NextBall(**next_ball()),
    )
    expected = dict(zip(CLASSES, eager.predict(state).probabilities, strict=True))
    for name in CLASSES:
        assert answer.json()["probabilities"][name] == pytest.approx(expected[name], abs=1e-6)

    # A reload of the version reads the cached graphs at once: no second export.
    first_export = server.exports[version]
    reloaded = server.load(repository.get_version(db, version))
    assert isinstance(reloaded.predictor.score_rows, ExportedScorer)
    assert server.exports[version] is first_export

    # A graph damaged on disk is dropped and exported again, not served or kept.
    score_graph = next((tmp_path / "onnx").glob("*-score.onnx"))
    score_graph.write_bytes(b"not an onnx graph")
    reloaded = server.load(repository.get_version(db, version))
    assert reloaded.predictor.runtime == "pytorch"
    server.exports[version].join(timeout=300)
    assert reloaded.predictor.runtime == "onnxruntime"

    # Shutting down stops an export still running; its version stays on PyTorch.
    other = add_run_with_checkpoint(db, settings, checkpoint_files[1])
    second = served_client.post("/v1/models", json={"run_id": other.id}).json()["version"]
    loaded = server.load(repository.get_version(db, second))
    server.close()
    server.exports[second].join(timeout=60)
    assert not server.exports[second].is_alive()
    assert loaded.predictor.runtime == "pytorch"
    assert len(list((tmp_path / "onnx").glob("*.onnx"))) == 2


def test_unknown_players_and_venue_are_cold_start_not_errors(production):
    response = production.post(
        "/v1/predict",
        json={
            "context": context(venue="Nowhere Oval", batting_team="Gamma"),
            "next_ball": {"striker": "new-1", "non_striker": NON_STRIKER, "bowler": "new-2"},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["cold_start"] == ["striker", "bowler", "venue", "batting_team"]


def test_live_session_after_n_deliveries_equals_the_one_shot_request(production):
    deliveries = _innings(20)
    started = production.post("/v1/matches", json={"context": context()})
    assert started.status_code == 201, started.text
    match_id = started.json()["match_id"]
    appended = 0
    for n in (1, 7, 20):
        response = production.post(
            f"/v1/matches/{match_id}/deliveries",
            json={"deliveries": deliveries[appended:n], "next_ball": next_ball()},
        )
        assert response.status_code == 200, response.text
        assert response.json()["num_deliveries"] == n
        appended = n
        live = production.get(f"/v1/matches/{match_id}/prediction").json()
        one_shot = production.post(
            "/v1/predict",
            json={"context": context(), "deliveries": deliveries[:n], "next_ball": next_ball()},
        ).json()
        assert live["num_deliveries"] == n
        for name in CLASSES:
            assert live["probabilities"][name] == pytest.approx(
                one_shot["probabilities"][name], abs=1e-6
            )


def test_unknown_match_is_404(production):
    assert production.get("/v1/matches/nope/prediction").status_code == 404


def _field_errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


WICKET = {"wickets": [{"kind": "bowled", "player_out": STRIKER}]}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            {"live": {"runs": 100, "wickets": 11, "over": 15}},
            "live.wickets",
            "wickets must be 0..9",
        ),
        ({"live": {"runs": 100, "wickets": 2, "over": 21}}, "live.over", "over must be 0..19"),
        ({"deliveries": [delivery(over=21)]}, "deliveries.0.over", "less than or equal to 19"),
        (
            {"deliveries": [delivery() | {"runs": {"batter": -1, "extras": 0, "total": -1}}]},
            "deliveries.0.runs.batter",
            "greater than or equal to 0",
        ),
        (
            {"deliveries": [delivery(extras={"overthrows": 1})]},
            "deliveries.0.extras.overthrows",
            "unknown field 'overthrows'",
        ),
        (
            {"next_ball": {"striker": STRIKER, "non_striker": STRIKER, "bowler": BOWLER}},
            "next_ball",
            "striker and non_striker must be different players",
        ),
        (
            {"deliveries": [delivery(**WICKET)] * 11},
            "deliveries[10]",
            "a delivery after all out",
        ),
        ({"deliveries": [delivery(**WICKET)] * 10}, "next_ball", "the innings is over"),
    ],
)
def test_impossible_states_are_422_naming_field_and_reason(production, body, field, reason):
    request = {"context": context(), "next_ball": next_ball()} | body
    errors = _field_errors(production.post("/v1/predict", json=request))
    assert field in errors, errors
    assert reason in errors[field]


def test_a_live_session_refuses_a_delivery_after_all_out(production):
    match_id = production.post(
        "/v1/matches", json={"context": context(), "deliveries": [delivery(**WICKET)] * 10}
    ).json()["match_id"]
    errors = _field_errors(
        production.post(f"/v1/matches/{match_id}/deliveries", json={"deliveries": [delivery()]})
    )
    assert "after all out" in errors["deliveries[10]"]


def test_the_api_imports_without_torch():
    import subprocess
    import sys

    code = "import sys, api.main; print(sorted({m.split('.')[0] for m in sys.modules}))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "torch" not in result.stdout and "torch_geometric" not in result.stdout
