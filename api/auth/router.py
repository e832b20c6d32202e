"""/v1/keys: create (the key is shown once), list and revoke API keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from api.auth.keys import create_api_key, get_api_key, list_api_keys, revoke_api_key
from api.auth.principals import Principal, PrincipalCache
from api.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from api.db import after_commit
from api.deps import ActorDep, SessionDep
from api.errors import NotFoundError
from api.ids import RowIdPath

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_key(payload: ApiKeyCreate, session: SessionDep, actor: ActorDep) -> ApiKeyCreated:
    """Create a key; the response is the only place its plaintext ever appears."""
    plaintext, row = create_api_key(
        session,
        name=payload.name,
        scopes=[scope.value for scope in payload.scopes],
        created_by=actor,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(row).model_dump(), key=plaintext)


@router.get("", response_model=ApiKeyList)
def list_keys(
    session: SessionDep,
    include_revoked: Annotated[bool, Query(description="Also list revoked keys.")] = False,
) -> ApiKeyList:
    """Every key (without its plaintext), oldest first."""
    rows = list_api_keys(session, include_revoked=include_revoked)
    return ApiKeyList(items=[ApiKeyRead.model_validate(row) for row in rows])


@router.get("/me", response_model=ApiKeyRead)
def read_own_key(session: SessionDep, request: Request) -> ApiKeyRead:
    """The calling key's name and scopes (what a client such as the dashboard may do)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    row = None if principal is None else get_api_key(session, principal.key_id)
    if row is None:
        raise NotFoundError(
            "This request carries no API key (auth is turned off), so there is no 'me'.",
            hint="Turn auth on (CRICKET_GNN_AUTH_ENABLED=true) and send a key.",
        )
    return ApiKeyRead.model_validate(row)


@router.delete("/{key_id}", response_model=ApiKeyRead)
def revoke_key(key_id: RowIdPath, session: SessionDep, request: Request) -> ApiKeyRead:
    """Revoke a key: its next request gets 401. Revoking twice is harmless."""
    row = revoke_api_key(session, key_id)
    cache: PrincipalCache = request.app.state.principal_cache
    after_commit(session, lambda: cache.forget(key_id))
    if row is None:
        raise NotFoundError(
            f"There is no API key {key_id}.", hint="GET /v1/keys lists the keys and their ids."
        )
    return ApiKeyRead.model_validate(row)
