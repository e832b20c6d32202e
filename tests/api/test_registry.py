"""Model registry life cycle: register, list, promote, roll back, alias history."""

from __future__ import annotations

from pathlib import Path

from model_fixtures import (
    add_run_with_checkpoint,
)


def _register(client, db, settings, source: Path) -> int:
    run = add_run_with_checkpoint(db, settings, source)
    response = client.post("/v1/models", json={"run_id": run.id})
    assert response.status_code == 201, response.text
    return int(response.json()["version"])


def test_register_records_what_the_version_is(served_client, db, settings, checkpoint_files):
    run = add_run_with_checkpoint(db, settings, checkpoint_files[0])
    response = served_client.post("/v1/models", json={"run_id": run.id}, headers={"X-Actor": "ana"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["checkpoint_kind"] == "best_loss"
    assert body["variant"] == "base"
    assert body["data_version"] == "d1" and body["code_version"] == "c1"
    assert body["metrics"] == {"val_loss": 1.5}
    assert len(body["sha256"]) == 64 and body["created_by"] == "ana (key:test-admin)"
    assert response.headers["Location"] == f"/v1/models/{body['version']}"
    assert served_client.get(f"/v1/models/{body['version']}").json()["sha256"] == body["sha256"]
    again = served_client.post("/v1/models", json={"run_id": run.id})
    assert again.status_code == 409 and str(body["version"]) in again.json()["message"]


def test_register_refuses_missing_checkpoint_and_paths_outside_the_artifact_root(
    served_client,
    db,
    settings,
    checkpoint_files,
    tmp_path,
):
    run = add_run_with_checkpoint(db, settings, checkpoint_files[0])
    missing = served_client.post("/v1/models", json={"run_id": run.id, "checkpoint_kind": "last"})
    assert missing.status_code == 404 and "no 'last' checkpoint" in missing.json()["message"]
    outside = add_run_with_checkpoint(db, settings, checkpoint_files[1])
    checkpoint = outside.checkpoints[0]
    checkpoint.path = str(settings.artifact_root / ".." / "elsewhere.pt")
    db.flush()
    refused = served_client.post("/v1/models", json={"run_id": outside.id})
    assert refused.status_code == 409
    assert "outside the artifact root" in refused.json()["message"]


def test_promote_rollback_and_alias_history(served_client, db, settings, checkpoint_files):
    v1, v2, v3 = (_register(served_client, db, settings, p) for p in checkpoint_files)
    for version in (v1, v2, v3):
        response = served_client.post(
            f"/v1/models/{version}/promote?alias=production", headers={"X-Actor": "bo"}
        )
        assert response.status_code == 200, response.text
        assert served_client.app.state.model_server.version == version
    staged = served_client.post(f"/v1/models/{v1}/promote", params={"alias": "staging"})
    assert staged.json()["aliases"] == ["staging"]
    listing = served_client.get("/v1/models").json()
    assert listing["aliases"] == {"production": v3, "staging": v1}
    assert [item["version"] for item in listing["items"]] == [v3, v2, v1]

    back = served_client.post("/v1/models/rollback")
    assert back.status_code == 200 and back.json()["version"] == v2
    assert served_client.app.state.model_server.version == v2
    assert served_client.post("/v1/models/rollback").json()["version"] == v1
    refused = served_client.post("/v1/models/rollback")
    assert refused.status_code == 409 and "no earlier production" in refused.json()["message"]

    history = served_client.get("/v1/models/aliases/production").json()
    assert history["version"] == v1
    moves = [(e["action"], e["from_version"], e["to_version"]) for e in history["history"]]
    assert moves == [
        ("promote", None, v1),
        ("promote", v1, v2),
        ("promote", v2, v3),
        ("rollback", v3, v2),
        ("rollback", v2, v1),
    ]
    # The verified key's name is recorded; X-Actor, taken as given, is kept in front of it.
    assert [e["actor"] for e in history["history"]] == ["bo (key:test-admin)"] * 3 + [
        "key:test-admin"
    ] * 2


def test_promotion_refuses_a_checkpoint_changed_after_registration(
    served_client,
    db,
    settings,
    checkpoint_files,
):
    version = _register(served_client, db, settings, checkpoint_files[0])
    path = Path(served_client.get(f"/v1/models/{version}").json()["path"])
    path.write_bytes(path.read_bytes() + b"tampered")
    response = served_client.post(f"/v1/models/{version}/promote")
    assert response.status_code == 409 and "sha256" in response.json()["message"]
    assert served_client.app.state.model_server.version is None
    assert served_client.get("/v1/models").json()["aliases"] == {}


def test_unknown_version_and_alias(served_client):
    assert served_client.post("/v1/models/999/promote").status_code == 404
    assert served_client.post("/v1/models/1/promote?alias=canary").status_code == 422
