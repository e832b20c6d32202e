"""Request and response bodies of /v1/models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.db import CheckpointKind, ModelAliasName
from api.ids import RowIdField


class ModelVersionCreate(BaseModel):
    """Register one checkpoint of a run as a new, immutable model version."""

    model_config = ConfigDict(extra="forbid")

    run_id: RowIdField
    checkpoint_kind: CheckpointKind = CheckpointKind.BEST_LOSS


class ModelVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    run_id: int
    checkpoint_kind: str
    path: str
    sha256: str
    size_bytes: int
    variant: str
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    data_version: str | None
    code_version: str | None
    created_by: str
    created_at: datetime
    aliases: list[str] = Field(default_factory=list, description="Aliases pointing here now.")


class ModelVersionList(BaseModel):
    items: list[ModelVersionRead]
    aliases: dict[str, int] = Field(description="Alias -> version, for every alias set.")


class AliasEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    alias: str
    action: str
    from_version: int | None
    to_version: int
    actor: str
    created_at: datetime


class AliasRead(BaseModel):
    """Where an alias points and every move it made, oldest first."""

    alias: ModelAliasName
    version: int | None
    history: list[AliasEventRead]
