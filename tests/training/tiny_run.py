"""The tiny model, short run and interrupted run that the training tests share."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.models import ModelConfig
from cricket_gnn.training.checkpoint import load_checkpoint
from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.distributed import DistInfo
from cricket_gnn.training.trainer import Trainer

TINY_MODEL = ModelConfig(model="full", hidden_dim=16, num_layers=2, num_heads=2, dropout=0.1)


def tiny_train_config(**overrides) -> TrainConfig:
    """Two 4-step epochs of 512-delivery batches, seed 7, unless overridden."""
    values = dict(run_name="tiny", epochs=2, batch_size=512, max_steps_per_epoch=4, seed=7)
    values.update(overrides)
    return TrainConfig(**values)


class Interrupt(Exception):
    pass


def straight_and_resumed(
    config: TrainConfig, dataset: CricketDataset, out: Path, **trainer_args: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Train `config` straight through in out/a, and in out/b stopped after its first
    epoch and resumed from `last`. Returns both final checkpoints and the resumed run's
    events."""
    Trainer(TINY_MODEL, config, dataset, DistInfo(), out / "a", **trainer_args).fit()

    def stop_after_first_epoch(event: dict[str, Any]) -> None:
        if event["event"] == "checkpoint" and event["kind"] == "last" and event["epoch"] == 1:
            raise Interrupt

    interrupted = Trainer(
        TINY_MODEL,
        config,
        dataset,
        DistInfo(),
        out / "b",
        on_event=stop_after_first_epoch,
        **trainer_args,
    )
    try:
        interrupted.fit()
    except Interrupt:
        pass
    else:
        raise AssertionError("the run was not interrupted after its first epoch")
    events: list[dict[str, Any]] = []
    resumed = Trainer(
        TINY_MODEL,
        config,
        dataset,
        DistInfo(),
        out / "b",
        on_event=events.append,
        **trainer_args,
    )
    resumed.fit(resume=out / "b" / "checkpoints" / f"last_{config.run_name}.pt")
    name = f"final_{config.run_name}.pt"
    a = load_checkpoint(out / "a" / "checkpoints" / name)
    b = load_checkpoint(out / "b" / "checkpoints" / name)
    return a, b, events


def one_epoch_runs(dataset: CricketDataset, out: Path, **runs: TrainConfig) -> dict[str, Any]:
    """Train each named config (given as `name=config`) for one tiny epoch under its name
    in `out`; returns {name: its final checkpoint}."""
    finals = {}
    for name, config in runs.items():
        one_epoch = replace(config, run_name=name, epochs=1)
        Trainer(TINY_MODEL, one_epoch, dataset, DistInfo(), out).fit()
        finals[name] = load_checkpoint(out / "checkpoints" / f"final_{name}.pt")
    return finals


def weights_differ(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two checkpoints hold different weights anywhere."""
    return any(not torch.equal(b["model_state"][k], v) for k, v in a["model_state"].items())
