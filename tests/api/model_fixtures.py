"""A hand-made history, randomly initialised checkpoints and registered runs for API tests.

Random weights are enough: these tests check the service (registry, loading, swapping,
validation), while tests/inference checks the numbers against the offline model.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cricsheet_factory import registry_id, simple_match, write_folder  # noqa: E402

from api.db import Checkpoint, Job, Run, RunStatus  # noqa: E402
from api.predict.server import ModelServer  # noqa: E402
from api.settings import Settings  # noqa: E402
from cricket_gnn.data.table import DeliveryTable  # noqa: E402

CONFIG = {"model": "base", "hidden_dim": 16, "num_layers": 1, "num_heads": 2}
STRIKER, NON_STRIKER, BOWLER = registry_id("A1"), registry_id("A2"), registry_id("B1")
VENUE, BATTING, BOWLING = "Test Ground", "Alpha", "Beta"


def make_history(tmp_path_factory: pytest.TempPathFactory) -> DeliveryTable:
    """Three hand-made matches, imported like an archive."""
    from cricket_gnn.data.archive import load_archive

    folder = tmp_path_factory.mktemp("archive")
    write_folder(folder, {f"{i}.json": simple_match(f"2023-03-0{i}") for i in range(1, 4)})
    return load_archive(folder, cache_dir=tmp_path_factory.mktemp("archive-cache"))


def make_checkpoints(
    history_table: DeliveryTable, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """Three checkpoints with different random weights (so different sha256)."""
    import torch

    from cricket_gnn.data.dataset import build_dataset
    from cricket_gnn.models import ModelConfig, build_model
    from cricket_gnn.training.checkpoint import save_checkpoint

    fitted = build_dataset(history_table).fitted
    config = ModelConfig(
        model="base",
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        dropout=0.0,
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
    )
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = []
    for seed in range(3):
        torch.manual_seed(seed)
        path = folder / f"best_loss_{seed}.pt"
        save_checkpoint(
            path,
            {
                "model_config": config.to_dict(),
                "fitted": fitted.to_dict(),
                "model_state": build_model(config).state_dict(),
                "temperature": 1.0 + seed / 10,
                "metrics": {"val_loss": 1.9 - seed / 10},
                "data_version": history_table.data_version,
                "code_version": "test",
            },
        )
        paths.append(path)
    return paths


def sha256(path: Path) -> str:
    from api.models.artifacts import sha256_of

    return sha256_of(path)


def add_run_with_checkpoint(
    db: Session, settings: Settings, source: Path, kind: str = "best_loss"
) -> Run:
    """A finished run whose checkpoint file lies under the artifact root."""
    job = Job(model="base", config=CONFIG, seeds=[0], run_name="tiny", request_hash="0" * 64)
    db.add(job)
    db.flush()
    run = Run(
        job_id=job.id,
        seed=0,
        model="base",
        run_name="tiny",
        config=CONFIG,
        config_hash="0" * 64,
        status=RunStatus.SUCCEEDED,
        data_version="d1",
        code_version="c1",
    )
    db.add(run)
    db.flush()
    target = settings.run_dir(run.id) / "checkpoints" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    db.add(
        Checkpoint(
            run_id=run.id,
            kind=kind,
            path=str(target),
            sha256=sha256(target),
            size_bytes=target.stat().st_size,
            epoch=1,
            metrics={"val_loss": 1.5},
        )
    )
    db.flush()
    return run


def model_server_for(
    settings: Settings, table: DeliveryTable, onnx_cache: Path | None = None
) -> ModelServer:
    """A server of `table`'s careers; eager PyTorch unless `onnx_cache` is given (each
    export takes seconds: one test checks the served ONNX path, tests/inference its numbers)."""
    import torch

    # Keep this test process's torch threads as they are for the tests that follow.
    threads = torch.get_num_threads()
    return ModelServer(
        settings.artifact_root, lambda: table, torch_threads=threads, onnx_cache=onnx_cache
    )


def next_ball() -> dict[str, Any]:
    return {"striker": STRIKER, "non_striker": NON_STRIKER, "bowler": BOWLER}


def context(**overrides: Any) -> dict[str, Any]:
    base = {"venue": VENUE, "batting_team": BATTING, "bowling_team": BOWLING, "innings": 1}
    return base | overrides


def delivery(over: int = 0, runs: int = 0, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "over": over,
        "batter": STRIKER,
        "non_striker": NON_STRIKER,
        "bowler": BOWLER,
        "runs": {"batter": runs, "extras": 0, "total": runs},
    }
    return base | extra


RunFactory = Callable[..., Run]
