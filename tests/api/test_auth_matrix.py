"""Every route × every credential: 401 without an accepted key, 403 without the scope.

The routes are enumerated from the app itself, so a new endpoint is checked the moment it
is added; one missing from api/auth/policy.py fails here (and create_app refuses it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.auth.policy import PUBLIC_MOUNTS, ROUTE_SCOPES, resolve_route_scopes
from api.auth.scopes import Scope, grants
from api.main import create_app
from api.settings import Settings

SCOPES = [scope.value for scope in Scope]
#: Path parameters filled with values that exist nowhere (the check runs before lookups).
PATH_VALUES = {"alias": "production"}


def served(settings: Settings) -> tuple[list[tuple[str, str]], list[str]]:
    """(method, path template) of every route an app serves, and its mounts."""
    routes: list[tuple[str, str]] = []
    mounts: list[str] = []
    for context in iter_route_contexts(create_app(settings).routes):
        if isinstance(context.original_route, Mount):
            mounts.append(context.path or "")
            continue
        routes += [(m, context.path or "") for m in sorted((context.methods or set()) - {"HEAD"})]
    return routes, mounts


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES.get(m.group(1), "987654"), path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, concrete(path), headers=headers, json=body)


def test_every_served_route_has_exactly_one_decided_scope(settings: Settings) -> None:
    routes, mounts = served(settings)
    assert len(routes) >= 30
    undecided = [f"{m} {p}" for m, p in routes if (m, p) not in ROUTE_SCOPES]
    assert undecided == [], "add these to ROUTE_SCOPES in api/auth/policy.py"
    assert [m for m in mounts if m not in PUBLIC_MOUNTS] == []
    # And the table names no route that does not exist (a typo would protect nothing).
    assert sorted(set(ROUTE_SCOPES) - set(routes)) == []


def test_a_route_added_without_a_scope_is_refused(settings: Settings) -> None:
    app = create_app(settings)
    rogue = APIRouter()
    rogue.add_api_route("/v1/rogue", lambda: {"ok": True}, methods=["GET", "DELETE"])
    app.include_router(rogue)
    # The same resolution create_app runs before it returns an app.
    with pytest.raises(RuntimeError, match="DELETE /v1/rogue, GET /v1/rogue"):
        resolve_route_scopes(app.routes)


def test_auth_matrix_over_every_route_and_scope(
    anonymous_client: TestClient,
    api_key: Callable[..., str],
    settings: Settings,
) -> None:
    routes, _ = served(settings)
    keys = {scope: api_key(scope, name=f"only-{scope}") for scope in SCOPES}
    credentials: dict[str, dict[str, str]] = {
        "none": {},
        "unknown": {"Authorization": f"Bearer cgk_{secrets.token_urlsafe(32)}"},
        **{scope: {"Authorization": f"Bearer {key}"} for scope, key in keys.items()},
    }
    wrong: list[str] = []
    checked = {"public": 0, "401": 0, "403": 0, "allowed": 0}
    for method, path in routes:
        needed = ROUTE_SCOPES[(method, path)]
        for who, headers in credentials.items():
            status = call(anonymous_client, method, path, headers).status_code
            if needed is None:
                expected, ok = "public", status not in (401, 403)
            elif who in ("none", "unknown"):
                expected, ok = "401", status == 401
            elif grants([who], needed):
                expected, ok = "allowed", status not in (401, 403)
            else:
                expected, ok = "403", status == 403
            checked[expected] += 1
            if not ok:
                wrong.append(f"{method} {path} as {who}: {status}, expected {expected}")
    print(f"auth matrix: {len(routes)} routes x {len(credentials)} credentials: {checked}")
    assert wrong == []
    assert checked["401"] and checked["403"] and checked["allowed"] and checked["public"]


def test_401_and_403_bodies_say_what_is_wrong_and_how_to_get_a_key(
    anonymous_client: TestClient, api_key: Callable[..., str]
) -> None:
    missing = anonymous_client.post("/v1/jobs", json={})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    body = missing.json()
    assert body["code"] == "unauthenticated"
    assert "scope 'train'" in body["message"] and "no API key was sent" in body["message"]
    assert "Authorization: Bearer" in body["hint"] and "POST /v1/keys" in body["hint"]
    assert "cricket-gnn keys create" in body["hint"]

    basic = anonymous_client.get("/v1/runs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401 and "'Basic'" in basic.json()["message"]

    read_key = api_key("read", name="reader")
    denied = anonymous_client.post("/v1/jobs", json={}, headers={"X-API-Key": read_key})
    assert denied.status_code == 403
    body = denied.json()
    assert body["code"] == "forbidden"
    assert "needs scope 'train'" in body["message"] and "'reader'" in body["message"]
    assert read_key not in denied.text  # only the shown prefix, never the key
    assert "scope 'train'" in body["hint"]


def test_both_header_forms_are_accepted_and_admin_implies_every_scope(
    anonymous_client: TestClient, api_key: Callable[..., str]
) -> None:
    admin = api_key("admin", name="root")
    assert anonymous_client.get("/v1/runs", headers={"X-API-Key": admin}).status_code == 200
    assert (
        anonymous_client.get("/v1/runs", headers={"Authorization": f"Bearer {admin}"}).status_code
        == 200
    )
    # admin reaches train, predict and admin routes past the check (404/422/503 are fine).
    for method, path in [("POST", "/v1/jobs"), ("POST", "/v1/predict"), ("GET", "/v1/keys")]:
        status = call(anonymous_client, method, path, {"X-API-Key": admin}).status_code
        assert status not in (401, 403), (method, path, status)
