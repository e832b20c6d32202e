"""Request and response bodies of /v1/sweeps: a base configuration × a grid × seeds."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from api.errors import describe_validation_errors
from api.jobs.schemas import RUN_NAME_PATTERN, RunBrief, Seeds, TrainingConfig

MAX_GRID_POINTS = 256
MAX_SWEEP_RUNS = 1024


class SweepCreate(BaseModel):
    """Every combination of the grid's values, applied on top of ``base``, once per seed."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "width",
                    "base": {"model": "hybrid", "epochs": 30},
                    "grid": {"hidden_dim": [64, 128, 256]},
                    "seeds": [42, 123, 456],
                }
            ]
        },
    )

    name: str | None = Field(None, pattern=RUN_NAME_PATTERN)
    base: dict[str, Any] = Field(
        default_factory=dict, description="Fields of a job (model, hidden_dim, …) shared by all."
    )
    grid: dict[str, list[Any]] = Field(
        min_length=1, description="Field → values to try; the sweep takes every combination."
    )
    seeds: Seeds = [42]
    priority: int = Field(5, ge=0, le=9)

    _points: list[tuple[dict[str, Any], dict[str, Any]]] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _expand(self) -> Self:
        fields = set(TrainingConfig.model_fields)
        unknown = sorted((set(self.base) | set(self.grid)) - fields)
        if unknown:
            raise ValueError(
                f"unknown training field(s) {unknown} in base/grid; allowed: {sorted(fields)}"
            )
        both = sorted(set(self.base) & set(self.grid))
        if both:
            raise ValueError(f"{both} appear in both base and grid; keep each field in one")
        for name, values in self.grid.items():
            if not values or len(values) > 64:
                raise ValueError(f"grid.{name} must list 1 to 64 values (got {len(values)})")
        names = list(self.grid)
        combos = list(itertools.product(*(self.grid[name] for name in names)))
        if len(combos) > MAX_GRID_POINTS or len(combos) * len(self.seeds) > MAX_SWEEP_RUNS:
            raise ValueError(
                f"the grid has {len(combos)} points × {len(self.seeds)} seeds; the limit is "
                f"{MAX_GRID_POINTS} points and {MAX_SWEEP_RUNS} runs — split the sweep"
            )
        problems = []
        for combo in combos:
            point = dict(zip(names, combo, strict=True))
            try:
                config = TrainingConfig.model_validate({**self.base, **point})
            except ValidationError as exc:
                described = describe_validation_errors(list(exc.errors()))
                reasons = "; ".join(
                    e["message"] if e["field"] == "body" else f"{e['field']}: {e['message']}"
                    for e in described
                )
                problems.append(f"grid point {point}: {reasons}")
                continue
            self._points.append((point, config.model_dump()))
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ValueError(" | ".join(problems[:3]) + more)
        return self

    def points(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(grid point, full training config) for every combination, in grid order."""
        return list(self._points)


class SweepPoint(BaseModel):
    job_id: int
    grid_point: dict[str, Any]
    status: str
    runs: list[RunBrief]


class SweepRead(BaseModel):
    id: int
    name: str | None
    status: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: list[int]
    priority: int
    created_at: datetime
    run_count: int
    points: list[SweepPoint]
