"""API keys: create (shown once), list, revoke; hashed at rest; the CLI and local bootstrap."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.local_key import ensure_local_admin_key
from api.main import create_app
from api.settings import PROJECT_ROOT, Settings


def test_create_list_and_revoke_over_http(client: TestClient) -> None:
    created = client.post("/v1/keys", json={"name": "scorer", "scopes": ["predict", "read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("cgk_") and len(key) > 40
    assert body["prefix"] == key[:12] and body["scopes"] == ["read", "predict"]
    assert body["created_by"] == "key:test-admin" and body["revoked_at"] is None

    # Per-request headers replace the client's admin key.
    as_scorer = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/runs", headers=as_scorer).status_code == 200
    assert client.post("/v1/jobs", json={}, headers=as_scorer).status_code == 403

    listed = client.get("/v1/keys")
    assert listed.status_code == 200
    assert key not in listed.text  # the plaintext is never shown again
    names = {item["name"]: item for item in listed.json()["items"]}
    assert names["scorer"]["prefix"] == key[:12] and "key" not in names["scorer"]

    revoked = client.delete(f"/v1/keys/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = client.delete(f"/v1/keys/{body['id']}")
    assert again.status_code == 200  # revoking twice is harmless
    # The same process forgets a revoked key at once (others within auth_cache_s).
    refused = client.get("/v1/runs", headers=as_scorer)
    assert refused.status_code == 401 and "was revoked" in refused.json()["message"]
    assert "scorer" not in {i["name"] for i in client.get("/v1/keys").json()["items"]}
    with_revoked = client.get("/v1/keys", params={"include_revoked": "true"}).json()["items"]
    assert "scorer" in {i["name"] for i in with_revoked}


def test_a_key_can_see_its_own_name_and_scopes(client: TestClient) -> None:
    key = client.post("/v1/keys", json={"name": "board", "scopes": ["read"]}).json()["key"]
    me = client.get("/v1/keys/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert (me.json()["name"], me.json()["scopes"]) == ("board", ["read"])
    assert "key" not in me.json()
    assert client.get("/v1/keys/me").json()["name"] == "test-admin"


def test_bad_key_requests_are_clear(client: TestClient) -> None:
    bad_scope = client.post("/v1/keys", json={"name": "x", "scopes": ["root"]})
    assert bad_scope.status_code == 422 and bad_scope.json()["errors"][0]["field"] == "scopes.0"
    no_scope = client.post("/v1/keys", json={"name": "x", "scopes": []})
    assert no_scope.status_code == 422
    missing = client.delete("/v1/keys/987654")
    assert missing.status_code == 404 and "GET /v1/keys" in missing.json()["hint"]


def test_only_a_hash_of_the_key_is_stored(client: TestClient, db: Session) -> None:
    key = client.post("/v1/keys", json={"name": "audit", "scopes": ["read"]}).json()["key"]
    rows = db.execute(text("SELECT * FROM api_keys WHERE name = 'audit'")).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert key not in stored and key[12:] not in stored
    assert rows[0]["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


def _sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="",
        broker_url="filesystem://",
        var_dir=tmp_path / "var",
        artifact_root=tmp_path / "artifacts",
        maintenance_enabled=False,
        freeze_heap=False,
        auth_cache_s=0,  # the CLI revokes from another process: check every request
    )


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")} | {
        "CRICKET_GNN_DATABASE_URL": "",
        "CRICKET_GNN_BROKER_URL": "filesystem://",
        "CRICKET_GNN_VAR_DIR": str(tmp_path / "var"),
        "CRICKET_GNN_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    return subprocess.run(
        [sys.executable, "-m", "cricket_gnn", "keys", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_bootstraps_the_first_admin_key_then_lists_and_revokes(tmp_path: Path) -> None:
    created = _cli(tmp_path, "create", "--scope", "admin", "--name", "ops")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("cgk_")

    settings = _sqlite_settings(tmp_path)
    with TestClient(create_app(settings)) as api:
        keys = api.get("/v1/keys", headers={"X-API-Key": key})
        assert keys.status_code == 200
        assert [(k["name"], k["scopes"]) for k in keys.json()["items"]] == [("ops", ["admin"])]

        listed = _cli(tmp_path, "list")
        assert listed.returncode == 0 and "ops" in listed.stdout and key not in listed.stdout
        revoked = _cli(tmp_path, "revoke", str(keys.json()["items"][0]["id"]))
        assert revoked.returncode == 0 and "revoked key" in revoked.stdout
        assert api.get("/v1/keys", headers={"X-API-Key": key}).status_code == 401

    bad = _cli(tmp_path, "create", "--scope", "root", "--name", "x")
    assert bad.returncode == 2 and "invalid choice: 'root'" in bad.stderr


def test_embedded_default_keeps_one_local_admin_key(tmp_path: Path) -> None:
    settings = _sqlite_settings(tmp_path)
    settings.ensure_local_dirs()
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", settings.effective_database_url)
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")

    first = ensure_local_admin_key(settings)
    assert first is not None and first.startswith("cgk_")
    path = settings.local_admin_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first
    assert ensure_local_admin_key(settings) == first  # printed again on every start

    with TestClient(create_app(settings)) as api:
        assert api.get("/v1/keys", headers={"X-API-Key": first}).status_code == 200
        key_id = api.get("/v1/keys", headers={"X-API-Key": first}).json()["items"][0]["id"]
        assert api.delete(f"/v1/keys/{key_id}", headers={"X-API-Key": first}).status_code == 200
    # Revoked (or deleted from the file): the next start makes a fresh one.
    second = ensure_local_admin_key(settings)
    assert second is not None and second != first
    assert path.read_text().strip() == second


def test_no_key_is_made_automatically_for_a_configured_database(settings: Settings) -> None:
    assert settings.database_url  # Postgres: an operator creates the first admin key
    assert ensure_local_admin_key(settings) is None
    assert not settings.local_admin_key_file.exists()
