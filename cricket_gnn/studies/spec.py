"""What a study is asked to do: a template, the base configuration, seeds and grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STAGES = ("stage1", "stage2", "stage3", "stage4")
TEMPLATES = (*STAGES, "progression")
#: The guide's defaults for every stage-1 run (hidden 128, 3 layers, 4 heads, lr 1e-3, dropout 0.1).
GUIDE_DEFAULTS: dict[str, Any] = {
    "hidden_dim": 128,
    "num_layers": 3,
    "num_heads": 4,
    "lr": 1e-3,
    "dropout": 0.1,
}
#: Hyper-parameters a study's base configuration may set (the full-model flags are the
#: studies' own business: stage 4 sets them per ablation).
HYPERPARAMETERS = (
    "hidden_dim",
    "num_layers",
    "num_heads",
    "lr",
    "dropout",
    "batch_size",
    "weight_decay",
    "patience",
    "focal_gamma",
    "class_weights",
    "label_smoothing",
    "ema_decay",
    "recency_half_life",
    "brier_weight",
    "id_dropout",
    "max_steps_per_epoch",
)
#: Stage 1 tunes these in this order, each with the best value of the previous ones.
STAGE1_GRID: dict[str, tuple[float | int, ...]] = {
    "hidden_dim": (64, 128, 256),
    "num_layers": (2, 3, 4, 5),
    "lr": (1e-4, 5e-4, 1e-3, 2e-3),
}
DEFAULT_SEEDS = (42, 123, 456)
#: Variants stage 3 may start from when it runs alone (the stage-2 winner).
STAGE2_VARIANTS = ("base", "pooling", "hybrid")


@dataclass(frozen=True, kw_only=True)
class StudySpec:
    """A study request. Decisions use val macro F1; test numbers are only reported."""

    template: str
    base: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    epochs: int = 100
    data_fraction: float = 1.0
    grid: Mapping[str, tuple[float | int, ...]] = field(default_factory=lambda: dict(STAGE1_GRID))
    # The stage-2 winner stage 3 builds on when it runs alone (progression: decided).
    stage3_from: str = "hybrid"
    alpha: float = 0.05
    num_resamples: int = 2000
    bootstrap_seed: int = 0

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ValueError(
                f"unknown template {self.template!r}; choose one of {', '.join(TEMPLATES)}"
            )
        unknown = sorted(set(self.base) - set(HYPERPARAMETERS))
        if unknown:
            raise ValueError(
                f"base config has unknown key(s) {unknown}; allowed: {', '.join(HYPERPARAMETERS)}"
                " (model and the full-model flags are set by each stage)"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(
                f"seeds must be a non-empty list of distinct integers, got {self.seeds}"
            )
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not 0.0 < self.data_fraction <= 1.0:
            raise ValueError(f"data_fraction must be in (0, 1], got {self.data_fraction}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.num_resamples < 100:
            raise ValueError(f"num_resamples must be >= 100, got {self.num_resamples}")
        if self.stage3_from not in STAGE2_VARIANTS:
            raise ValueError(
                f"stage3_from must be one of {', '.join(STAGE2_VARIANTS)}, got {self.stage3_from!r}"
            )
        bad_grid = sorted(set(self.grid) - set(STAGE1_GRID))
        if bad_grid or any(not values for values in self.grid.values()):
            raise ValueError(
                f"grid may only list non-empty values for {', '.join(STAGE1_GRID)}; got {dict(self.grid)}"
            )
        heads = int(self.base_config()["num_heads"])
        dims = [int(d) for d in self.grid.get("hidden_dim", ())] + [
            int(self.base_config()["hidden_dim"])
        ]
        bad_dims = [d for d in dims if d % heads]
        if bad_dims:
            raise ValueError(
                f"num_heads={heads} must divide every hidden_dim tried, not {bad_dims}; "
                "change base.num_heads or grid.hidden_dim"
            )

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this study runs, in order."""
        return STAGES if self.template == "progression" else (self.template,)

    def base_config(self) -> dict[str, Any]:
        """The guide's defaults overridden by the request's base config."""
        return {**GUIDE_DEFAULTS, **self.base}

    def stage1_grid(self) -> dict[str, tuple[float | int, ...]]:
        """The tuning grid: the guide's unless the request shrank or changed it."""
        return {name: tuple(self.grid.get(name, values)) for name, values in STAGE1_GRID.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with the study; `from_dict` reads it back)."""
        return {
            "template": self.template,
            "base": dict(self.base),
            "seeds": list(self.seeds),
            "epochs": self.epochs,
            "data_fraction": self.data_fraction,
            "grid": {name: list(values) for name, values in self.grid.items()},
            "stage3_from": self.stage3_from,
            "alpha": self.alpha,
            "num_resamples": self.num_resamples,
            "bootstrap_seed": self.bootstrap_seed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudySpec:
        """Inverse of `to_dict`; raises ValueError on a bad value."""
        values = dict(data)
        if "seeds" in values:
            values["seeds"] = tuple(int(s) for s in _sequence(values["seeds"], "seeds"))
        if "grid" in values:
            values["grid"] = {
                str(k): tuple(_sequence(v, f"grid.{k}")) for k, v in dict(values["grid"]).items()
            }
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown study option(s) {unknown}")
        return cls(**values)


def _sequence(value: Any, name: str) -> Sequence[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a list, got {value!r}")
    return value
