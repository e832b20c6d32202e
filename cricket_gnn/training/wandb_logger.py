"""wandb logging from rank 0; offline unless the user configures otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WANDB_MODES = ("offline", "disabled", "online")


def default_wandb_mode() -> str:
    """$WANDB_MODE when the user set it, else offline (never the network by default)."""
    mode = os.environ.get("WANDB_MODE", "offline")
    return mode if mode in WANDB_MODES else "offline"


def _flatten(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}/{key}"
        if isinstance(value, dict):
            out.update(_flatten(name, value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


class WandbLogger:
    """Thin wrapper: project cricket-gnn, run name = --run_name, config logged."""

    def __init__(self, mode: str, run_name: str, config: dict[str, Any], directory: Path):
        self.run: Any = None
        if mode == "disabled":
            return
        import wandb  # imported here: it costs start-up time and only rank 0 needs it

        directory.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project="cricket-gnn",
            name=run_name,
            config=config,
            mode=mode,  # type: ignore[arg-type]  # validated against WANDB_MODES
            dir=str(directory),
            settings=wandb.Settings(silent=True, console="off"),
        )

    @property
    def run_dir(self) -> str | None:
        return None if self.run is None else str(self.run.dir)

    def log_epoch(self, epoch: int, train: dict[str, Any], val: dict[str, Any], lr: float) -> None:
        """Per-epoch train and val metrics."""
        if self.run is not None:
            self.run.log(
                {"epoch": epoch, "lr": lr, **_flatten("train", train), **_flatten("val", val)},
                step=epoch,
            )

    def log_final(self, val: dict[str, Any], test: dict[str, Any]) -> None:
        """Final (calibrated) val and test metrics into the run summary."""
        if self.run is not None:
            for key, value in {**_flatten("final_val", val), **_flatten("test", test)}.items():
                self.run.summary[key] = value

    def finish(self) -> None:
        """Close the run and stop wandb-core (it lingers otherwise, DESIGN §7)."""
        if self.run is None:
            return
        import wandb

        self.run.finish()
        wandb.teardown()
        self.run = None
