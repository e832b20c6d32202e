"""Per-delivery predictions of a run's chosen checkpoint, for paired tests between runs.

`checkpoints/predictions_<run>.npz` holds, for val and test, the temperature-scaled
probabilities with each delivery's label, match, innings and phase, sorted by
(match, innings, delivery order) so that two runs on the same data line up row by row
whatever their world size was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cricket_gnn.training.evaluate import Predictions

SPLITS = ("val", "test")
FIELDS = ("probs", "labels", "match", "innings", "phase")


def predictions_path(checkpoint_dir: Path, run_name: str) -> Path:
    """Where a run's predictions file lives, beside its checkpoints."""
    return checkpoint_dir / f"predictions_{run_name}.npz"


def _arrays(pred: Predictions, temperature: float) -> dict[str, np.ndarray]:
    # A stable sort keeps each innings' deliveries in their original (row) order.
    order = np.lexsort((pred.innings, pred.match))
    probs = torch.softmax(pred.logits.double() / temperature, dim=-1).numpy()
    return {
        "probs": probs[order].astype(np.float32),
        "labels": pred.labels.numpy()[order].astype(np.int64),
        "match": pred.match[order].astype(np.int64),
        "innings": pred.innings[order].astype(np.int64),
        "phase": pred.phase[order].astype(np.int64),
    }


def save_predictions(path: Path, val: Predictions, test: Predictions, temperature: float) -> Path:
    """Write val and test predictions (probabilities scaled by `temperature`)."""
    arrays = {
        f"{split}_{name}": value
        for split, pred in (("val", val), ("test", test))
        for name, value in _arrays(pred, temperature).items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, temperature=np.float64(temperature), **arrays)  # type: ignore[arg-type]
    return path


def load_predictions(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{"val": {"probs", "labels", "match", "innings", "phase"}, "test": {...}}."""
    with np.load(Path(path)) as data:
        return {split: {name: data[f"{split}_{name}"] for name in FIELDS} for split in SPLITS}
