"""The experiments each stage trains, given the configuration the previous stage chose."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cricket_gnn.studies.spec import StudySpec

FULL_FLAGS = ("use_film", "use_hierarchical", "use_innings_heads")
#: The guide's display names and notes of each variant.
VARIANT_LABELS = {
    "base": ("Base", "Baseline"),
    "pooling": ("WithPooling", "Ball attention"),
    "hybrid": ("Hybrid", "Matchup MLP"),
    "phase_modulated": ("PhaseModulated", "Hybrid + FiLM"),
    "innings_conditional": ("InningsConditional", "Hybrid + innings heads"),
}
#: Stage 4: (name, label, model, full-model flags).
ABLATIONS: tuple[tuple[str, str, str, dict[str, bool]], ...] = (
    ("A1", "Base", "base", {}),
    ("A2", "WithPooling", "pooling", {}),
    ("A3", "Hybrid", "hybrid", {}),
    ("A4", "PhaseModulated", "phase_modulated", {}),
    ("A5", "InningsConditional", "innings_conditional", {}),
    ("A6", "Full", "full", {"use_film": True, "use_hierarchical": True, "use_innings_heads": True}),
    (
        "A7",
        "Full − FiLM",
        "full",
        {"use_film": False, "use_hierarchical": True, "use_innings_heads": True},
    ),  # fmt: skip
    (
        "A8",
        "Full − innings heads",
        "full",
        {"use_film": True, "use_hierarchical": True, "use_innings_heads": False},
    ),  # fmt: skip
    (
        "A9",
        "Full − hierarchical",
        "full",
        {"use_film": True, "use_hierarchical": False, "use_innings_heads": True},
    ),  # fmt: skip
)
#: Which ablation removes which component of the full model (each compared with A6).
ABLATED_COMPONENT = {"A7": "use_film", "A8": "use_innings_heads", "A9": "use_hierarchical"}


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """One configuration of one stage, trained once per seed."""

    stage: str
    name: str
    label: str
    notes: str
    config: Mapping[str, Any]
    seeds: tuple[int, ...]

    @property
    def key(self) -> str:
        return f"{self.stage}/{self.name}"

    @property
    def config_key(self) -> str:
        """Identical configurations share runs across stages (stage 2's Base = stage 1's best)."""
        return config_key(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "stage": self.stage,
            "name": self.name,
            "label": self.label,
            "notes": self.notes,
            "config": dict(self.config),
            "seeds": list(self.seeds),
            "config_key": self.config_key,
        }


def config_key(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a training configuration (seed excluded)."""
    text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def training_config(
    spec: StudySpec, hyper: Mapping[str, Any], model: str, **flags: bool
) -> dict[str, Any]:
    """A run's configuration: hyper-parameters + the study's epochs and data fraction."""
    config = {**hyper, "model": model, "epochs": spec.epochs, "data_fraction": spec.data_fraction}
    if model == "full":
        config.update({flag: bool(flags.get(flag, True)) for flag in FULL_FLAGS})
    return config


def stage1_step(spec: StudySpec, hyper: Mapping[str, Any], parameter: str) -> list[Experiment]:
    """One tuning step of stage 1: the base model at each value of `parameter`."""
    return [
        Experiment(
            stage="stage1",
            name=f"{parameter}={value:g}",
            label=f"Base, {parameter} {value:g}",
            notes=f"tuning {parameter}",
            config=training_config(spec, {**hyper, parameter: value}, "base"),
            seeds=spec.seeds,
        )
        for value in spec.stage1_grid()[parameter]
    ]


def stage2(spec: StudySpec, hyper: Mapping[str, Any]) -> list[Experiment]:
    """Base (the stage-1 config), WithPooling and Hybrid at the stage-1 config."""
    experiments = []
    for variant in ("base", "pooling", "hybrid"):
        label, notes = VARIANT_LABELS[variant]
        experiments.append(
            Experiment(
                stage="stage2",
                name=variant,
                label="Base (Stage 1)" if variant == "base" else label,
                notes=notes,
                config=training_config(spec, hyper, variant),
                seeds=spec.seeds,
            )
        )
    return experiments


def stage3(spec: StudySpec, hyper: Mapping[str, Any], winner: str) -> list[Experiment]:
    """The stage-2 winner, PhaseModulated and InningsConditional."""
    label, notes = VARIANT_LABELS[winner]
    experiments = [
        Experiment(
            stage="stage3",
            name=winner,
            label=f"{label} (Stage 2)",
            notes=notes,
            config=training_config(spec, hyper, winner),
            seeds=spec.seeds,
        )
    ]
    for variant in ("phase_modulated", "innings_conditional"):
        label, notes = VARIANT_LABELS[variant]
        experiments.append(
            Experiment(
                stage="stage3",
                name=variant,
                label=label,
                notes=notes,
                config=training_config(spec, hyper, variant),
                seeds=spec.seeds,
            )
        )
    return experiments


def stage4(spec: StudySpec, hyper: Mapping[str, Any]) -> list[Experiment]:
    """The nine experiments A1–A9 of the ablation study."""
    return [
        Experiment(
            stage="stage4",
            name=name,
            label=label,
            notes=model if not flags else ", ".join(f"{k}={v}" for k, v in flags.items()),
            config=training_config(spec, hyper, model, **flags),
            seeds=spec.seeds,
        )
        for name, label, model, flags in ABLATIONS
    ]
