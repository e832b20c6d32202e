"""The few cheap counts a Prometheus scrape reads from the database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import ModelAlias, ModelAliasName, Run


def run_counts_by_status(session: Session) -> dict[str, int]:
    """How many runs are in each status (one grouped scan of the status index)."""
    rows = session.execute(select(Run.status, func.count()).group_by(Run.status)).all()
    return {str(status): int(count) for status, count in rows}


def production_version(session: Session) -> int | None:
    return session.scalar(
        select(ModelAlias.version).where(ModelAlias.alias == ModelAliasName.PRODUCTION)
    )
