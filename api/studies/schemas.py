"""Request and response bodies of /v1/studies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.jobs.schemas import RUN_NAME_PATTERN, RunBrief, Seeds

Template = Literal["stage1", "stage2", "stage3", "stage4", "progression"]


class StudyBase(BaseModel):
    """Hyper-parameters every experiment starts from (the guide's defaults where unset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_dim: int | None = Field(default=None, ge=8, le=1024)
    num_layers: int | None = Field(default=None, ge=1, le=8)
    num_heads: int | None = Field(default=None, ge=1, le=16)
    lr: float | None = Field(default=None, gt=0, le=1)
    dropout: float | None = Field(default=None, ge=0, le=0.9)
    batch_size: int | None = Field(default=None, ge=1, le=8192)
    weight_decay: float | None = Field(default=None, ge=0, le=1)
    patience: int | None = Field(default=None, ge=1, le=1000)
    focal_gamma: float | None = Field(default=None, ge=0, le=10)
    class_weights: Literal["none", "sqrt", "balanced"] | None = None
    label_smoothing: float | None = Field(default=None, ge=0, lt=1)
    ema_decay: float | None = Field(default=None, ge=0, lt=1)
    recency_half_life: float | None = Field(default=None, ge=0, le=36500)
    brier_weight: float | None = Field(default=None, ge=0, le=10)
    id_dropout: float | None = Field(default=None, ge=0, lt=1)
    max_steps_per_epoch: int | None = Field(
        default=None, ge=0, description="Optimiser steps per epoch (0 = whole training split)."
    )


class StudyGrid(BaseModel):
    """Stage 1's tuning grid; an omitted parameter keeps the guide's values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_dim: list[int] | None = Field(default=None, min_length=1, max_length=8)
    num_layers: list[int] | None = Field(default=None, min_length=1, max_length=8)
    lr: list[float] | None = Field(default=None, min_length=1, max_length=8)


class StudyCreate(BaseModel):
    """A study: one stage of the training guide, or all four (`progression`)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "template": "progression",
                    "base": {"batch_size": 256},
                    "seeds": [42, 123, 456],
                    "epochs": 30,
                    "data_fraction": 0.25,
                }
            ]
        },
    )

    template: Template
    name: str | None = Field(default=None, pattern=RUN_NAME_PATTERN)
    base: StudyBase = StudyBase()
    seeds: Seeds = [42, 123, 456]
    epochs: int = Field(100, ge=1, le=1000)
    data_fraction: float = Field(1.0, gt=0, le=1)
    grid: StudyGrid = StudyGrid()
    stage3_from: Literal["base", "pooling", "hybrid"] = Field(
        "hybrid", description="The stage-2 winner when template is stage3 alone."
    )
    num_resamples: int = Field(2000, ge=100, le=20000, description="Bootstrap resamples.")
    priority: int = Field(5, ge=0, le=9)
    nproc: int = Field(1, ge=1, le=16, description="DDP ranks per run.")

    def spec_dict(self) -> dict[str, Any]:
        """The StudySpec fields (cricket_gnn.studies) of this request."""
        return {
            "template": self.template,
            "base": self.base.model_dump(exclude_none=True),
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "data_fraction": self.data_fraction,
            "grid": self.grid.model_dump(exclude_none=True),
            "stage3_from": self.stage3_from,
            "num_resamples": self.num_resamples,
        }


class StudyExperimentRead(BaseModel):
    stage: str
    name: str
    job_id: int
    reused: bool = Field(description="Trained for an earlier experiment of the same config.")
    status: str
    config: dict[str, Any]
    runs: list[RunBrief]


class StudyDecisionRead(BaseModel):
    stage: str
    step: str
    decision: dict[str, Any]
    created_at: datetime


class StudyRead(BaseModel):
    id: int
    name: str | None
    template: str
    status: str
    stage: str | None
    status_reason: str | None
    spec: dict[str, Any]
    priority: int
    final_config: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    experiments: list[StudyExperimentRead]
    decisions: list[StudyDecisionRead]
    links: dict[str, str]


class StudySummary(BaseModel):
    """One row of the studies list (GET /v1/studies/{id} has the experiments and decisions)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    template: str
    status: str
    stage: str | None
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class StudyPage(BaseModel):
    items: list[StudySummary]
    total: int
    limit: int
    offset: int
