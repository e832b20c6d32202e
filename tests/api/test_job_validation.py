"""Every way a submission can be wrong gets a 422 that names the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def _problems(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["hint"] and body["message"].startswith("The request is invalid")
    return {error["field"]: error["message"] for error in body["errors"]}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"model": "transformer"}, "model", "'base', 'pooling', 'hybrid'"),
        ({"num_heads": 3}, "num_heads", "num_heads=3 must divide hidden_dim=16"),
        ({"hidden_dim": 90, "num_heads": None}, "num_heads", "must divide hidden_dim=90"),
        ({"hidden_dim": 4}, "hidden_dim", "greater than or equal to 8"),
        ({"hidden_dim": 2048}, "hidden_dim", "less than or equal to 1024"),
        ({"num_layers": 0}, "num_layers", "greater than or equal to 1"),
        ({"lr": 0}, "lr", "greater than 0"),
        ({"lr": 1.5}, "lr", "less than or equal to 1"),
        ({"dropout": 0.95}, "dropout", "less than or equal to 0.9"),
        ({"batch_size": 0}, "batch_size", "greater than or equal to 1"),
        ({"epochs": 1001}, "epochs", "less than or equal to 1000"),
        ({"data_fraction": 0}, "data_fraction", "greater than 0"),
        ({"nproc": 17}, "nproc", "less than or equal to 16"),
        ({"priority": 10}, "priority", "less than or equal to 9"),
        ({"class_weights": "inverse"}, "class_weights", "'none', 'sqrt' or 'balanced'"),
        ({"label_smoothing": 1.0}, "label_smoothing", "less than 1"),
        ({"ema_decay": -0.5}, "ema_decay", "greater than or equal to 0"),
        ({"recency_half_life": -1}, "recency_half_life", "greater than or equal to 0"),
        ({"distill_weight": 1.5}, "distill_weight", "less than or equal to 1"),
        ({"teacher_runs": [3, 3]}, "teacher_runs", "teacher_runs must be distinct"),
        ({"teacher_runs": list(range(1, 10))}, "teacher_runs", "at most 8 items"),
        ({"teacher_runs": [2**40]}, "teacher_runs.0", "less than or equal to 2147483647"),
        ({"seeds": []}, "seeds", "at least 1 item"),
        ({"seeds": [1, 1]}, "seeds", "seeds must be distinct"),
        ({"seeds": [-1]}, "seeds", "[0, 2**32)"),
        ({"hidden_dim": "wide"}, "hidden_dim", "valid integer"),
        ({"run_name": "has spaces"}, "run_name", "should match pattern"),
        ({"use_film": False}, "use_film", "only applies to model 'full'"),
        ({"learning_rate": 0.1}, "learning_rate", "unknown field 'learning_rate'"),
        ({"model": None}, "model", "is required"),
    ],
)
def test_invalid_job_is_rejected_with_the_field_and_reason(
    client: TestClient, tiny_job: dict[str, Any], change: dict[str, Any], field: str, says: str
) -> None:
    body = {**tiny_job, **change}
    body = {key: value for key, value in body.items() if value is not None}
    problems = _problems(client.post("/v1/jobs", json=body))
    assert field in problems, problems
    assert says in problems[field]


def test_several_problems_are_reported_together(client: TestClient) -> None:
    problems = _problems(client.post("/v1/jobs", json={"model": "x", "lr": -1, "foo": 1}))
    assert set(problems) == {"model", "lr", "foo"}


def test_full_model_accepts_its_switches(client: TestClient, tiny_job: dict[str, Any]) -> None:
    response = client.post("/v1/jobs", json={**tiny_job, "model": "full", "use_film": False})
    assert response.status_code == 202, response.text
    assert response.json()["config"]["use_film"] is False


def test_malformed_json_is_a_clear_422(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    problems = _problems(response)
    assert any("not valid JSON" in message for message in problems.values())


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"base": {"model": "base"}, "grid": {}}, "at least 1 item"),
        (
            {"base": {"model": "base"}, "grid": {"width": [1]}},
            "unknown training field(s) ['width']",
        ),
        (
            {"base": {"model": "base", "hidden_dim": 64}, "grid": {"hidden_dim": [32]}},
            "appear in both base and grid",
        ),
        ({"base": {"model": "base"}, "grid": {"hidden_dim": []}}, "must list 1 to 64 values"),
        (
            {"base": {"model": "base", "num_heads": 3}, "grid": {"hidden_dim": [48, 64]}},
            "grid point {'hidden_dim': 64}: num_heads: num_heads=3 must divide hidden_dim=64",
        ),
        (
            {
                "base": {"model": "base"},
                "grid": {"hidden_dim": list(range(8, 72)), "lr": [0.1] * 5},
            },
            "split the sweep",
        ),
        ({"grid": {"hidden_dim": [64]}}, "model: field 'model' is required"),
    ],
)
def test_invalid_sweep_is_rejected(client: TestClient, body: dict[str, Any], says: str) -> None:
    problems = _problems(client.post("/v1/sweeps", json=body))
    assert any(says in message for message in problems.values()), problems


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=sleeping", "status"), ("limit=0", "limit"), ("model=gpt", "model")],
)
def test_invalid_run_filters_are_rejected(client: TestClient, query: str, field: str) -> None:
    problems = _problems(client.get(f"/v1/runs?{query}"))
    assert any(name.split(".")[0] == field for name in problems), problems


def test_retry_rejects_unknown_options(client: TestClient, tiny_job: dict[str, Any]) -> None:
    run_id = client.post("/v1/jobs", json=tiny_job).json()["runs"][0]["id"]
    client.post(f"/v1/runs/{run_id}/cancel")
    problems = _problems(client.post(f"/v1/runs/{run_id}/retry", json={"from_epoch": 3}))
    assert "from_epoch" in problems


def test_a_job_left_at_its_defaults_trains_as_train_py_left_at_its_own() -> None:
    """The hyper-parameters are spelled in four places (this schema, train.py's flags,
    the worker's command line, the dataclasses); a default changed in one alone would
    make a job and a shell run of the same flags train different models."""
    import dataclasses

    from api.jobs.schemas import TrainingConfig
    from cricket_gnn.models.config import ModelConfig
    from cricket_gnn.training.cli import build_parser
    from cricket_gnn.training.config import TrainConfig
    from worker.command import _SWITCHES, _VALUE_FLAGS

    flags = {action.dest: action.default for action in build_parser()._actions}
    dataclass_defaults = {
        field.name: field.default
        for config in (TrainConfig, ModelConfig)
        for field in dataclasses.fields(config)
        if field.default is not dataclasses.MISSING
    }
    service_only = {"model", "teacher_runs", "nproc"}  # required, run ids, torchrun's
    passed_on = set(_VALUE_FLAGS) | {key for key, _, _ in _SWITCHES}
    for name, field in TrainingConfig.model_fields.items():
        if name in service_only:
            continue
        assert name in passed_on, f"{name} never reaches train.py"
        assert field.default == flags[name] == dataclass_defaults[name], name
    assert "model" in _VALUE_FLAGS and "teacher" in flags
