"""Request and response bodies of /v1/keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.auth.scopes import Scope


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Who or what uses the key.")
    scopes: list[Scope] = Field(
        min_length=1, description="read, predict, train, admin (admin implies the others)."
    )


class ApiKeyRead(BaseModel):
    """A key as listed: never the key itself, only its first characters."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    scopes: list[str]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key. Shown only in this response; store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
