"""Request and response bodies of /v1/jobs, and the training configuration they share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.ids import RowIdField

ModelVariant = Literal[
    "base", "pooling", "hybrid", "phase_modulated", "innings_conditional", "full"
]
#: Flags that only the ``full`` model reads (train.py: --use_film/--no_film, ...).
FULL_MODEL_FLAGS = ("use_film", "use_hierarchical", "use_innings_heads")
RUN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def _distinct_seeds(seeds: list[int]) -> list[int]:
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct (got {seeds})")
    if any(not 0 <= seed < 2**32 for seed in seeds):
        raise ValueError(f"each seed must be in [0, 2**32) (got {seeds})")
    return seeds


def _distinct_runs(run_ids: list[int]) -> list[int]:
    if len(set(run_ids)) != len(run_ids):
        raise ValueError(f"teacher_runs must be distinct (got {run_ids})")
    return run_ids


Seeds = Annotated[
    list[int],
    Field(min_length=1, max_length=32, description="One run per seed."),
    AfterValidator(_distinct_seeds),
]


class TrainingConfig(BaseModel):
    """Model variant + hyper-parameters: exactly what train.py is given for one run.

    Ranges mirror train.py's; a value outside them is rejected here with a 422 rather
    than failing minutes later inside a worker.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelVariant = Field(description="Model variant, as the training guide names it.")
    hidden_dim: int = Field(128, ge=8, le=1024)
    num_layers: int = Field(3, ge=1, le=8)
    num_heads: int = Field(
        4, ge=1, le=16, validate_default=True, description="Must divide hidden_dim."
    )
    lr: float = Field(1e-3, gt=0, le=1)
    dropout: float = Field(0.1, ge=0, le=0.9)
    id_dropout: float = Field(
        0.0, ge=0, lt=1, description="Training-time chance of hiding a player/venue/team id."
    )
    batch_size: int = Field(64, ge=1, le=8192, description="Target deliveries per batch.")
    epochs: int = Field(100, ge=1, le=1000)
    weight_decay: float = Field(0.01, ge=0, le=1)
    patience: int = Field(10, ge=1, le=1000)
    focal_gamma: float = Field(0.0, ge=0, le=10)
    class_weights: Literal["none", "sqrt", "balanced"] = "none"
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    ema_decay: float = Field(
        0.0, ge=0, lt=1, description="Validate and save a moving average of the weights (0 = off)."
    )
    recency_half_life: float = Field(
        0.0,
        ge=0,
        le=36500,
        description="Halve the loss weight of training matches every this many days back from"
        " the newest (0 = equal weights).",
    )
    teacher_runs: Annotated[list[RowIdField], AfterValidator(_distinct_runs)] = Field(
        default_factory=list,
        max_length=8,
        description="Distil from these succeeded runs' best-val-loss models (same data);"
        " the loss also pulls towards their averaged probabilities. Empty = off.",
    )
    distill_weight: float = Field(
        0.8, ge=0, le=1, description="Share of the loss given to the teachers (with teacher_runs)."
    )
    brier_weight: float = Field(
        0.0,
        ge=0,
        le=10,
        description="Add this multiple of the Brier score to the loss (0 = cross-entropy alone).",
    )
    use_film: bool = Field(True, description="model=full only.")
    use_hierarchical: bool = Field(True, description="model=full only.")
    use_innings_heads: bool = Field(True, description="model=full only.")
    data_fraction: float = Field(1.0, gt=0, le=1, description="Share of matches to train on.")
    max_time_s: float = Field(
        0.0, ge=0, description="Stop before an epoch that would end past this (0 = no limit)."
    )
    max_steps_per_epoch: int = Field(
        0,
        ge=0,
        description="Optimiser steps per epoch (0 = the whole training split); the learning"
        " rate schedule spans epochs x these steps.",
    )
    nproc: int = Field(1, ge=1, le=16, description="DDP ranks (GPUs if present, else CPU).")

    @field_validator("num_heads")
    @classmethod
    def _heads_divide_hidden_dim(cls, num_heads: int, info: ValidationInfo) -> int:
        hidden_dim = info.data.get("hidden_dim")
        if hidden_dim is not None and hidden_dim % num_heads:
            divisors = [h for h in range(1, 17) if hidden_dim % h == 0]
            raise ValueError(
                f"num_heads={num_heads} must divide hidden_dim={hidden_dim}; "
                f"choose num_heads from {divisors} or change hidden_dim"
            )
        return num_heads

    @field_validator(*FULL_MODEL_FLAGS)
    @classmethod
    def _only_for_full_model(cls, value: bool, info: ValidationInfo) -> bool:
        # Runs only for values the client sent: defaults are not validated.
        model = info.data.get("model")
        if model is not None and model != "full":
            raise ValueError(
                f"{info.field_name} only applies to model 'full' (got model '{model}'); "
                "remove it or set model to 'full'"
            )
        return value


class JobCreate(TrainingConfig):
    """One configuration trained once per seed."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "model": "hybrid",
                    "hidden_dim": 128,
                    "num_heads": 4,
                    "seeds": [42, 123, 456],
                    "epochs": 30,
                    "nproc": 2,
                    "priority": 5,
                    "run_name": "hybrid-h128",
                }
            ]
        },
    )

    seeds: Seeds = [42]
    priority: int = Field(5, ge=0, le=9, description="9 is served first.")
    run_name: str | None = Field(None, pattern=RUN_NAME_PATTERN)

    def training_config(self) -> dict[str, Any]:
        """The hyper-parameters alone (no seeds, priority or name), defaults filled in."""
        return {name: getattr(self, name) for name in TrainingConfig.model_fields}


class RunBrief(BaseModel):
    """A run as listed inside its job."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    seed: int
    run_name: str
    status: str
    attempt: int


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sweep_id: int | None
    model: str
    status: str = Field(description="Derived from the runs: running > queued > failed > …")
    config: dict[str, Any]
    seeds: list[int]
    priority: int
    run_name: str
    created_at: datetime
    runs: list[RunBrief]
