"""The app-wide dependency that checks every request's key against the route's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth.keys import SHOWN_PREFIX_LENGTH, hash_key, lookup_key
from api.auth.policy import ResolvedScopes
from api.auth.principals import Principal, PrincipalCache
from api.auth.scopes import grants
from api.db import SessionFactory
from api.errors import ForbiddenError, UnauthenticatedError

# auto_error=False: a missing key must get our error body, not FastAPI's bare 403.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <key>")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: <key>")

HOW_TO_GET_A_KEY = (
    "Send the key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'. An admin creates "
    "keys with POST /v1/keys or `cricket-gnn keys create --scope SCOPE --name NAME`; "
    "`python -m api serve` on the embedded default prints a local admin key (var/admin-key)."
)


def _route_label(request: Request) -> tuple[str, str]:
    route = request.scope.get("route")
    path = getattr(route, "path", None)  # the URL is parsed only when no route matched
    return request.method, path if path is not None else request.url.path


async def authorize(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
) -> Principal | None:
    """401 without an accepted key, 403 without the scope; None on a public route."""
    method, path = _route_label(request)
    route_scopes: ResolvedScopes = request.app.state.route_scopes
    try:
        needed = route_scopes[(id(request.scope.get("route")), method)]
    except KeyError:
        # create_app resolves every route, so this is unreachable; fail closed regardless.
        raise ForbiddenError(
            f"{method} {path} has no scope decided, so nobody may call it.",
            hint="Add the route to ROUTE_SCOPES in api/auth/policy.py.",
        ) from None
    if needed is None:
        return None
    plaintext = header_key or (bearer.credentials if bearer else None)
    if not plaintext:
        authorization = request.headers.get("authorization")
        problem = (
            f"the Authorization header is {authorization.split(' ')[0]!r}, not 'Bearer <key>'"
            if authorization
            else "no API key was sent"
        )
        raise UnauthenticatedError(
            f"{method} {path} needs an API key with scope '{needed}'; {problem}.",
            hint=HOW_TO_GET_A_KEY,
        )
    cache: PrincipalCache = request.app.state.principal_cache
    key_hash = hash_key(plaintext)
    principal = cache.get(key_hash)
    if principal is None:
        # The database lookup blocks: off the event loop (a cache hit needs none).
        principal = await run_in_threadpool(_verify, request, plaintext)
        cache.put(key_hash, principal)  # from the database only: the TTL never slides
    request.state.principal = principal
    if not grants(principal.scopes, needed):
        raise ForbiddenError(
            f"{method} {path} needs scope '{needed}' (or 'admin'); the key "
            f"'{principal.name}' ({principal.prefix}…) has {', '.join(principal.scopes)}.",
            hint=f"Call it with a key that has scope '{needed}'. " + HOW_TO_GET_A_KEY,
        )
    return principal


def _verify(request: Request, plaintext: str) -> Principal:
    """Look the key up in the database; 401 when it is unknown or revoked."""
    shown = plaintext[:SHOWN_PREFIX_LENGTH] + "…"
    factory: SessionFactory = request.app.state.session_factory
    with factory() as session:
        row = lookup_key(session, plaintext)
        if row is None or row.revoked_at is not None:
            raise UnauthenticatedError(
                f"The API key {shown} is not known to this service."
                if row is None
                else f"The API key {shown} ('{row.name}') was revoked; it no longer works.",
                hint=HOW_TO_GET_A_KEY,
            )
        return Principal(key_id=row.id, name=row.name, prefix=row.prefix, scopes=tuple(row.scopes))
