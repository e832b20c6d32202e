"""Self-describing checkpoints, loadable with torch.load(weights_only=True)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import torch

from cricket_gnn.data.fitted import FittedState
from cricket_gnn.data.schema import SCHEMA_VERSION
from cricket_gnn.models import CricketHeteroGNN, ModelConfig, build_model

CHECKPOINT_FORMAT = 1
CHECKPOINT_KINDS = ("best_macro_f1", "best_loss", "final", "last")


def checkpoint_path(directory: Path, kind: str, run_name: str) -> Path:
    """checkpoints/best_<run>.pt for best macro F1 (the guide's name), else <kind>_<run>.pt."""
    prefix = "best" if kind == "best_macro_f1" else kind
    return directory / f"{prefix}_{run_name}.pt"


def code_version() -> str:
    """The git commit of this checkout (with '+dirty' if modified), or 'unknown'."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically so a killed run never leaves a torn checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "schema_version": SCHEMA_VERSION, **payload}, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with weights_only=True (no code runs from the file)."""
    checkpoint = torch.load(Path(path), map_location=map_location, weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path} is not a cricket-gnn checkpoint (format {checkpoint.get('format')})"
        )
    return checkpoint


def model_from_checkpoint(checkpoint: dict[str, Any]) -> tuple[CricketHeteroGNN, FittedState]:
    """Rebuild the model (eval mode) and its fitted data state from a checkpoint alone."""
    model = build_model(ModelConfig(**checkpoint["model_config"]))
    model.load_state_dict(checkpoint["model_state"])
    model.eval()
    return model, FittedState.from_dict(checkpoint["fitted"])
