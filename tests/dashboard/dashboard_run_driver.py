"""Plays a training run for the dashboard tests, through the worker's own code.

The trainer's events are appended to the attempt's ``progress-attempt<N>.jsonl`` exactly
as rank 0 writes them, then read back with ``worker.progress.ProgressTail`` and written
with ``worker.store.RunStore`` — what ``worker.supervisor`` does while torchrun trains.
Only torchrun is left out, so each step of a run is there for as long as the test needs
to watch it (a real tiny run finishes faster than a browser polls on a shared machine).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from api.db import RunStatus, SessionFactory
from api.models.artifacts import sha256_of
from worker.progress import ProgressTail
from worker.store import RunStore

STEPS_PER_EPOCH = 10
# A plausible learning curve: train loss falls, validation loss turns up at the end,
# macro F1 peaks at epoch 5.
TRAIN_LOSS = [1.962, 1.781, 1.702, 1.651, 1.617, 1.590, 1.571, 1.556]
VAL_LOSS = [1.874, 1.768, 1.721, 1.699, 1.690, 1.694, 1.703, 1.715]
VAL_MACRO_F1 = [0.171, 0.208, 0.231, 0.246, 0.259, 0.255, 0.252, 0.249]


class RunDriver:
    """One attempt of one run: claim it, report the trainer's events, settle it."""

    def __init__(
        self, factory: SessionFactory, run_dir: Path, run_id: int, *, attempt: int = 1
    ) -> None:
        self.run_id = run_id
        self.run_dir = run_dir
        self.store = RunStore(factory, run_id, attempt, worker="dashboard-test@localhost")
        self.progress_path = run_dir / f"progress-attempt{attempt}.jsonl"
        self.tail = ProgressTail(self.progress_path)

    def claim(self, *, epochs: int) -> None:
        claimed = self.store.claim()
        assert claimed is not None, f"run {self.run_id} was not claimable"
        self.epochs = epochs
        (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        self.emit(
            {
                "event": "start",
                "world_size": 1,
                "device": "cpu",
                "data_version": "dashboard-test",
                "code_version": "dashboard-test",
                "epochs": epochs,
                "steps_per_epoch": STEPS_PER_EPOCH,
                "start_epoch": 0,
            }
        )

    def emit(self, *events: dict[str, Any]) -> None:
        """Append events as rank 0 does, then forward them as the supervisor does."""
        with self.progress_path.open("a") as handle:
            for event in events:
                handle.write(json.dumps(event) + "\n")
        new = self.tail.read_new()
        assert [e["event"] for e in new] == [e["event"] for e in events]
        self.store.apply_events(new)

    def progress(self, epoch: int, step: int) -> None:
        done = (epoch - 1) * STEPS_PER_EPOCH + step
        self.emit(
            {
                "event": "progress",
                "epoch": epoch,
                "step": step,
                "steps_per_epoch": STEPS_PER_EPOCH,
                "samples_per_s": 2048.0 + 16 * epoch,
                "eta_s": (self.epochs * STEPS_PER_EPOCH - done) * 1.5,
                "train_loss": TRAIN_LOSS[epoch - 1] + 0.05 * (1 - step / STEPS_PER_EPOCH),
            }
        )

    def end_epoch(self, epoch: int) -> None:
        self.emit(
            {
                "event": "epoch",
                "epoch": epoch,
                "lr": 1e-3 * (1 - (epoch - 1) / self.epochs),
                "train": {"loss": TRAIN_LOSS[epoch - 1]},
                "val": {
                    "log_loss": VAL_LOSS[epoch - 1],
                    "macro_f1": VAL_MACRO_F1[epoch - 1],
                    "accuracy": 0.40 + 0.01 * epoch,
                },
            }
        )

    def checkpoint(self, kind: str, source: Path, epoch: int) -> None:
        """Write a checkpoint file under the run's folder and report it like the trainer."""
        path = self.run_dir / "checkpoints" / f"{kind}_{self.run_id}.pt"
        shutil.copyfile(source, path)
        self.emit(
            {
                "event": "checkpoint",
                "kind": kind,
                "path": str(path.resolve()),
                "epoch": epoch,
                "sha256": sha256_of(path),
                "size_bytes": path.stat().st_size,
                "metrics": {
                    "val": {"log_loss": VAL_LOSS[epoch - 1], "macro_f1": VAL_MACRO_F1[epoch - 1]}
                },
            }
        )

    def succeed(self, *, skill: float | None = None) -> None:
        """Finish as the trainer does; with ``skill`` also write the per-delivery predictions
        and the metrics file a study reads (``skill`` in [0, 1]: how often it is right)."""
        final = {"log_loss": VAL_LOSS[-1], "macro_f1": max(VAL_MACRO_F1)}
        metrics_path = None
        if skill is not None:
            checkpoints = self.run_dir / "checkpoints"
            predictions = write_predictions(checkpoints / f"predictions_{self.run_id}.npz", skill)
            metrics_path = checkpoints / f"metrics_{self.run_id}.json"
            history = [{"epoch": e, "val_log_loss": VAL_LOSS[e - 1]} for e in (1, 2)]
            metrics = {"val": final, "test": final, "history": history,
                       "predictions_path": str(predictions)}  # fmt: skip
            metrics_path.write_text(json.dumps(metrics))
        self.emit(
            {
                "event": "finished",
                "val": final,
                "test": final,
                "metrics_path": None if metrics_path is None else str(metrics_path),
            }  # fmt: skip
        )
        done = self.store.finish(
            RunStatus.SUCCEEDED, status_reason="training finished", exit_code=0
        )
        assert done, f"run {self.run_id} was settled by someone else"


def write_predictions(path: Path, skill: float, *, num_matches: int = 12) -> Path:
    """A predictions file laid out as cricket_gnn.training.predictions writes it."""
    import numpy as np

    rng = np.random.default_rng(0)  # the same deliveries and labels for every run
    noise = np.random.default_rng(int(skill * 1000))
    per_innings = 20
    arrays = {}
    for offset, split in enumerate(("val", "test")):
        match = np.repeat(np.arange(num_matches) + 1000 * offset, 2 * per_innings)
        innings = np.tile(np.repeat([1, 2], per_innings), num_matches)
        phase = np.tile(np.arange(per_innings) * 5 // per_innings, 2 * num_matches)
        labels = rng.integers(0, 7, size=match.size)
        right = noise.random(match.size) < skill
        guess = np.where(right, labels, noise.integers(0, 7, size=match.size))
        probs = np.full((match.size, 7), 0.4 / 6)
        probs[np.arange(match.size), guess] = 0.6
        arrays |= {f"{split}_probs": probs.astype(np.float32), f"{split}_labels": labels,
                   f"{split}_match": match, f"{split}_innings": innings,
                   f"{split}_phase": phase}  # fmt: skip
    np.savez_compressed(path, temperature=np.float64(1.0), **arrays)
    return path
