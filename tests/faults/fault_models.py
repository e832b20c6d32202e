"""Model versions for a live service: a hand-made archive the API reads its history from,
random-weight checkpoints fitted on it, and runs that own them, registered over HTTP."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fault_harness import FaultService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from model_fixtures import (  # noqa: E402
    add_run_with_checkpoint,
    context,
    delivery,
    make_checkpoints,
    next_ball,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cricsheet_factory import simple_match, write_folder  # noqa: E402

__all__ = [
    "context",
    "delivery",
    "next_ball",
    "promote",
    "register_versions",
    "serving_service",
    "write_history",
]


def write_history(folder: Path) -> Path:
    """The three-match archive of tests/api/model_fixtures, as a folder the API can read."""
    return write_folder(folder, {f"{i}.json": simple_match(f"2023-03-0{i}") for i in range(1, 4)})


def register_versions(
    service: FaultService, history: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[int]:
    """Three model versions (different random weights) registered through the API."""
    from api.db import make_engine, make_session_factory, transaction
    from api.settings import Settings
    from cricket_gnn.data.archive import load_archive

    table = load_archive(history, cache_dir=tmp_path_factory.mktemp("history-cache"))
    settings = Settings(
        database_url=service.database_url,
        artifact_root=Path(service.env["CRICKET_GNN_ARTIFACT_ROOT"]),
    )
    engine = make_engine(service.database_url)
    run_ids = []
    try:
        for path in make_checkpoints(table, tmp_path_factory):
            # The training itself is not under test here: the run row and its checkpoint
            # file are laid down as a worker would leave them.
            with transaction(make_session_factory(engine)) as session:
                run_ids.append(add_run_with_checkpoint(session, settings, path).id)
    finally:
        engine.dispose()
    versions = []
    for run_id in run_ids:
        response = service.http.post("/v1/models", json={"run_id": run_id})
        assert response.status_code == 201, response.text
        versions.append(int(response.json()["version"]))
    return versions


def promote(service: FaultService, version: int) -> None:
    """Promote ``version`` to production (the first load imports torch: a long timeout)."""
    response = service.http.post(f"/v1/models/{version}/promote", timeout=120)
    assert response.status_code == 200, response.text


def serving_service(
    make_fault_service: Callable[..., FaultService],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[FaultService, list[int]]:
    """A live service reading the hand-made history, with three registered model
    versions, the first of them in production."""
    history = write_history(tmp_path / "history")
    service = make_fault_service(
        env={"CRICKET_GNN_DATA": str(history), "CRICKET_GNN_CACHE": str(tmp_path / "cache")}
    )
    versions = register_versions(service, history, tmp_path_factory)
    promote(service, versions[0])
    return service, versions
