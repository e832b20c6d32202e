"""/v1/models: register checkpoints as versions, promote aliases, roll back production."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.db import ModelAliasName
from api.deps import ActorDep, ModelServerDep, SessionDep, SettingsDep
from api.ids import RowIdPath
from api.models import service
from api.models.schemas import AliasRead, ModelVersionCreate, ModelVersionList, ModelVersionRead

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ModelVersionRead)
def register_model(
    payload: ModelVersionCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    response: Response,
) -> ModelVersionRead:
    """Register a run's checkpoint (default best_loss) as a new immutable model version."""
    version = service.register(session, payload, artifact_root=settings.artifact_root, actor=actor)
    response.headers["Location"] = f"/v1/models/{version.version}"
    return service.to_read(session, version)


@router.get("", response_model=ModelVersionList)
def list_models(session: SessionDep) -> ModelVersionList:
    """Every version, newest first, and where each alias points."""
    return service.list_versions(session)


@router.post("/rollback", response_model=ModelVersionRead)
def rollback_production(
    session: SessionDep, server: ModelServerDep, actor: ActorDep
) -> ModelVersionRead:
    """Return production to the version it served before the current one."""
    version = service.rollback(session, actor=actor, prepare=server.prepare)
    return service.to_read(session, version)


@router.get("/aliases/{alias}", response_model=AliasRead)
def read_alias(alias: ModelAliasName, session: SessionDep) -> AliasRead:
    """Where the alias points and every move it made (who, when, from, to)."""
    return service.alias_history(session, alias)


@router.get("/{version}", response_model=ModelVersionRead)
def read_model(version: RowIdPath, session: SessionDep) -> ModelVersionRead:
    return service.to_read(session, service.get_version(session, version))


@router.post("/{version}/promote", response_model=ModelVersionRead)
def promote_model(
    version: RowIdPath,
    session: SessionDep,
    server: ModelServerDep,
    actor: ActorDep,
    alias: Annotated[ModelAliasName, Query()] = ModelAliasName.PRODUCTION,
) -> ModelVersionRead:
    """Point an alias at this version; production is loaded first and served on commit."""
    promoted = service.promote(session, version, alias, actor=actor, prepare=server.prepare)
    return service.to_read(session, promoted)
