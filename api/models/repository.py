"""SQL for model versions, aliases and alias events."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db import AliasEvent, Checkpoint, ModelAlias, ModelVersion, Run, utcnow


def get_version(session: Session, version: int) -> ModelVersion | None:
    return session.get(ModelVersion, version)


def list_versions(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.version.desc())).all())


def find_version(session: Session, run_id: int, kind: str, sha256: str) -> ModelVersion | None:
    """The version already registered for exactly this checkpoint file, if any."""
    query = select(ModelVersion).where(
        ModelVersion.run_id == run_id,
        ModelVersion.checkpoint_kind == kind,
        ModelVersion.sha256 == sha256,
    )
    return session.scalars(query).first()


def get_run_checkpoint(session: Session, run_id: int, kind: str) -> tuple[Run, Checkpoint] | None:
    row = session.execute(
        select(Run, Checkpoint)
        .join(Checkpoint, Checkpoint.run_id == Run.id)
        .where(Run.id == run_id, Checkpoint.kind == kind)
    ).first()
    return None if row is None else (row[0], row[1])


def aliases(session: Session) -> dict[str, int]:
    return {a.alias: a.version for a in session.scalars(select(ModelAlias)).all()}


def alias_version(session: Session, alias: str) -> int | None:
    return session.scalar(select(ModelAlias.version).where(ModelAlias.alias == alias))


def lock_alias(session: Session, alias: str) -> int | None:
    """The alias' version, its row locked FOR UPDATE until the transaction ends."""
    return session.scalar(
        select(ModelAlias.version).where(ModelAlias.alias == alias).with_for_update()
    )


def move_alias(session: Session, alias: str, version: int) -> int | None:
    """Point `alias` at `version` atomically; returns the version it pointed at before.

    The row is created if absent (ON CONFLICT DO NOTHING, so two first promotions cannot
    both insert) and otherwise locked FOR UPDATE, so concurrent moves serialise and each
    records the true previous version.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = session.execute(
        insert(ModelAlias)
        .values(alias=alias, version=version, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["alias"])
        .returning(ModelAlias.alias)
    ).first()
    if created is not None:
        return None
    row = session.scalars(
        select(ModelAlias)
        .where(ModelAlias.alias == alias)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    previous = row.version
    row.version = version
    row.updated_at = utcnow()
    return previous


def add_event(session: Session, event: AliasEvent) -> None:
    session.add(event)


def alias_events(session: Session, alias: str) -> list[AliasEvent]:
    return list(
        session.scalars(
            select(AliasEvent).where(AliasEvent.alias == alias).order_by(AliasEvent.id)
        ).all()
    )
