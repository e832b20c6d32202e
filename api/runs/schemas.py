"""Response bodies of /v1/runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunProgress(BaseModel):
    """Where training is now, as last reported by rank 0."""

    epoch: int | None = Field(None, description="Epoch being trained (1-based).")
    epochs: int | None = None
    step: int | None = None
    steps_per_epoch: int | None = None
    fraction_done: float | None = Field(None, ge=0, le=1)
    samples_per_s: float | None = None
    eta_s: float | None = Field(None, description="Trainer's estimate of seconds left.")
    train_loss: float | None = None
    start_epoch: int | None = Field(None, description="Epochs already done when it (re)started.")
    world_size: int | None = None
    device: str | None = None
    updated_at: datetime | None = None


class CheckpointRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    path: str
    sha256: str
    size_bytes: int
    epoch: int | None
    metrics: dict[str, Any] | None
    updated_at: datetime


class RunSummary(BaseModel):
    id: int
    job_id: int
    sweep_id: int | None
    seed: int
    model: str
    run_name: str
    status: str
    status_reason: str | None
    attempt: int
    attempt_limit: int
    priority: int
    nproc: int
    worker: str | None
    config_hash: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    progress: RunProgress


class RunRead(RunSummary):
    config: dict[str, Any]
    data_version: str | None
    code_version: str | None
    queued_at: datetime
    launched_at: datetime | None
    resumed_from: str | None
    latest_metrics: dict[str, Any] | None = Field(None, description="The last epoch's metrics.")
    best_metrics: dict[str, Any] | None = Field(None, description="The epoch with best val F1.")
    final_metrics: dict[str, Any] | None = Field(None, description="Val/test after training.")
    checkpoints: list[CheckpointRead]
    error: str | None = Field(None, description="Why it failed: the end of the trainer's log.")
    exit_code: int | None
    links: dict[str, str]


class RunPage(BaseModel):
    items: list[RunSummary]
    total: int
    limit: int
    offset: int


class EpochMetrics(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    epoch: int
    lr: float | None
    train: dict[str, Any]
    val: dict[str, Any]
    recorded_at: datetime


class RunMetricsRead(BaseModel):
    run_id: int
    epochs: list[EpochMetrics]


class RunLogsRead(BaseModel):
    run_id: int
    attempt: int
    path: str
    lines: list[str]
    truncated: bool = Field(description="True if older lines exist beyond those returned.")


class RunRetry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resume: bool = Field(
        True, description="Continue from the run's last checkpoint (false: start over)."
    )
