"""Checkpoint files the service may read: only under the artifact root, only if unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

from api.errors import AppError, ConflictError


class ArtifactPathError(AppError):
    status_code = 409
    code = "artifact_outside_root"


def checkpoint_file(artifact_root: Path, path: str) -> Path:
    """The resolved file, refused if it escapes the artifact root (../, symlinks) or is gone."""
    root = artifact_root.resolve()
    resolved = Path(path).resolve()
    try:
        resolved.relative_to(root)
    except ValueError:
        raise ArtifactPathError(
            f"Checkpoint {path} is outside the artifact root {root}; it will not be loaded.",
            hint="Register checkpoints written by this service's runs (under the artifact root).",
        ) from None
    if not resolved.is_file():
        raise ConflictError(
            f"Checkpoint file {resolved} does not exist.",
            hint="The run's artifacts were moved or deleted; register another checkpoint.",
        )
    return resolved


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_checkpoint(artifact_root: Path, path: str, sha256: str) -> Path:
    """`checkpoint_file`, and its sha256 must equal the registered one."""
    resolved = checkpoint_file(artifact_root, path)
    actual = sha256_of(resolved)
    if actual != sha256:
        raise ConflictError(
            f"Checkpoint {resolved} has sha256 {actual}, not the registered {sha256}; "
            "refusing to load a file that changed after registration.",
            hint="Register the current file as a new model version and promote that.",
        )
    return resolved
