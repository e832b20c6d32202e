"""Database layer shared by the API and the worker (models, engine, sessions)."""

from api.db.base import Base, utcnow
from api.db.engine import (
    SessionFactory,
    after_commit,
    make_engine,
    make_session_factory,
    run_after_commit_hooks,
    transaction,
)
from api.db.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    AliasEvent,
    Checkpoint,
    CheckpointKind,
    Job,
    ModelAlias,
    ModelAliasName,
    ModelVersion,
    Run,
    RunMetric,
    RunStatus,
    Sweep,
)

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "AliasEvent",
    "Base",
    "Checkpoint",
    "CheckpointKind",
    "Job",
    "ModelAlias",
    "ModelAliasName",
    "ModelVersion",
    "Run",
    "RunMetric",
    "RunStatus",
    "SessionFactory",
    "Sweep",
    "after_commit",
    "make_engine",
    "make_session_factory",
    "run_after_commit_hooks",
    "transaction",
    "utcnow",
]
