"""Which checkpoints a distilled run learns from: its teacher runs' best-val-loss models.

Shared by the API, which refuses a job whose teachers cannot serve (422), and the
worker, which resolves them again when the run starts (a teacher's files may have gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Checkpoint, CheckpointKind, Run, RunStatus


class TeacherError(ValueError):
    """A teacher run that cannot be distilled from, and why."""


def teacher_checkpoints(session: Session, run_ids: Sequence[int]) -> list[Path]:
    """The best-val-loss checkpoint of each run, in order; TeacherError if one is unusable."""
    paths = []
    for run_id in run_ids:
        run = session.get(Run, run_id)
        if run is None:
            raise TeacherError(f"teacher run {run_id} does not exist")
        if run.status != RunStatus.SUCCEEDED:
            raise TeacherError(
                f"teacher run {run_id} is {run.status}; only a succeeded run can teach"
            )
        path = session.scalar(
            select(Checkpoint.path).where(
                Checkpoint.run_id == run_id, Checkpoint.kind == CheckpointKind.BEST_LOSS
            )
        )
        if path is None or not Path(path).is_file():
            raise TeacherError(f"teacher run {run_id} has no best_loss checkpoint on disk")
        paths.append(Path(path))
    return paths
