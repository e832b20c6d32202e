"""The model registry: register checkpoints as immutable versions, move aliases, roll back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from api.db import AliasEvent, ModelAliasName, ModelVersion, after_commit
from api.errors import ConflictError, NotFoundError
from api.models import repository
from api.models.artifacts import checkpoint_file, sha256_of
from api.models.schemas import (
    AliasEventRead,
    AliasRead,
    ModelVersionCreate,
    ModelVersionList,
    ModelVersionRead,
)

#: Called inside the transaction with the version production will serve; it must load
#: (and may refuse) the model, and return the swap to run once the move has committed.
PrepareProduction = Callable[[ModelVersion], Callable[[], None]]


def register(
    session: Session, payload: ModelVersionCreate, *, artifact_root: Path, actor: str
) -> ModelVersion:
    kind = str(payload.checkpoint_kind)
    found = repository.get_run_checkpoint(session, payload.run_id, kind)
    if found is None:
        raise NotFoundError(
            f"Run {payload.run_id} has no '{kind}' checkpoint.",
            hint=f"GET /v1/runs/{payload.run_id} lists its checkpoints; pass one of their kinds.",
        )
    run, checkpoint = found
    path = checkpoint_file(artifact_root, checkpoint.path)
    sha256 = sha256_of(path)
    if sha256 != checkpoint.sha256:
        raise ConflictError(
            f"Checkpoint {path} has sha256 {sha256}, but the run recorded {checkpoint.sha256}.",
            hint="The file changed after the run wrote it; re-run or register another kind.",
        )
    existing = repository.find_version(session, run.id, kind, sha256)
    if existing is not None:
        raise ConflictError(
            f"This checkpoint is already model version {existing.version}.",
            hint=f"GET /v1/models/{existing.version}; versions are immutable.",
        )
    version = ModelVersion(
        run_id=run.id,
        checkpoint_kind=kind,
        path=str(path),
        sha256=sha256,
        size_bytes=path.stat().st_size,
        variant=run.model,
        config=run.config,
        metrics=checkpoint.metrics,
        data_version=run.data_version,
        code_version=run.code_version,
        created_by=actor,
    )
    session.add(version)
    session.flush()
    return version


def get_version(session: Session, version: int) -> ModelVersion:
    found = repository.get_version(session, version)
    if found is None:
        raise NotFoundError(
            f"Model version {version} does not exist.",
            hint="GET /v1/models lists versions; POST /v1/models registers a run's checkpoint.",
        )
    return found


def to_read(session: Session, version: ModelVersion) -> ModelVersionRead:
    read = ModelVersionRead.model_validate(version)
    read.aliases = sorted(a for a, v in repository.aliases(session).items() if v == version.version)
    return read


def list_versions(session: Session) -> ModelVersionList:
    aliases = repository.aliases(session)
    items = []
    for version in repository.list_versions(session):
        read = ModelVersionRead.model_validate(version)
        read.aliases = sorted(a for a, v in aliases.items() if v == version.version)
        items.append(read)
    return ModelVersionList(items=items, aliases=aliases)


def promote(
    session: Session,
    version: int,
    alias: ModelAliasName,
    *,
    actor: str,
    prepare: PrepareProduction | None = None,
) -> ModelVersion:
    """Point `alias` at `version`; production also loads the model before committing."""
    target = get_version(session, version)
    swap = prepare(target) if prepare is not None and alias == ModelAliasName.PRODUCTION else None
    previous = repository.move_alias(session, str(alias), target.version)
    if previous != target.version:
        repository.add_event(
            session,
            AliasEvent(
                alias=str(alias),
                action="promote",
                from_version=previous,
                to_version=target.version,
                actor=actor,
            ),
        )
    session.flush()
    if swap is not None:
        after_commit(session, swap)
    return target


def previous_production(session: Session) -> int | None:
    """The version production served before its current one, undoing earlier rollbacks."""
    served: list[int] = []
    for event in repository.alias_events(session, ModelAliasName.PRODUCTION):
        if event.action == "rollback":
            served.pop()
        else:
            served.append(event.to_version)
    return served[-2] if len(served) >= 2 else None


def rollback(
    session: Session, *, actor: str, prepare: PrepareProduction | None = None
) -> ModelVersion:
    """Return production to the version it served before the current one."""
    # Lock the alias first so a concurrent promotion cannot slip between read and move.
    current = repository.lock_alias(session, ModelAliasName.PRODUCTION)
    target_version = previous_production(session)
    if current is None or target_version is None:
        raise ConflictError(
            "There is no earlier production version to roll back to.",
            hint="GET /v1/models/aliases/production shows the history; "
            "POST /v1/models/{version}/promote?alias=production picks any version.",
        )
    target = get_version(session, target_version)
    swap = prepare(target) if prepare is not None else None
    repository.move_alias(session, ModelAliasName.PRODUCTION, target.version)
    repository.add_event(
        session,
        AliasEvent(
            alias=ModelAliasName.PRODUCTION,
            action="rollback",
            from_version=current,
            to_version=target.version,
            actor=actor,
        ),
    )
    session.flush()
    if swap is not None:
        after_commit(session, swap)
    return target


def alias_history(session: Session, alias: ModelAliasName) -> AliasRead:
    events = repository.alias_events(session, str(alias))
    return AliasRead(
        alias=alias,
        version=repository.alias_version(session, str(alias)),
        history=[AliasEventRead.model_validate(e) for e in events],
    )
