"""The state machine over synthetic predictions: stages in order, reuse, decisions, report."""

from __future__ import annotations

import ast
import csv
import io
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cricket_gnn.studies.machine import advance
from cricket_gnn.studies.report import build_report, render
from cricket_gnn.studies.spec import StudySpec
from cricket_gnn.studies.stats import PredictionCache, SeedRun

NUM_DELIVERIES, NUM_MATCHES = 1200, 40
LABELS = np.random.default_rng(0).integers(0, 7, NUM_DELIVERIES)
MATCH = np.repeat(np.arange(NUM_MATCHES), NUM_DELIVERIES // NUM_MATCHES)


def _accuracy(config: Mapping[str, Any]) -> float:
    """Hybrid-based variants clearly better; FiLM helps, hierarchical does not."""
    accuracy = {"base": 0.3, "pooling": 0.3, "hybrid": 0.55}.get(config["model"], 0.55)
    if config["model"] in ("phase_modulated", "full") and config.get("use_film", True):
        accuracy += 0.15
    return accuracy + (0.05 if config["hidden_dim"] == 16 else 0.0)


def _train(tmp_path: Path, config: Mapping[str, Any], seed: int, key: str) -> SeedRun:
    rng = np.random.default_rng([seed, int(key[:8], 16)])
    correct = rng.random(NUM_DELIVERIES) < _accuracy(config)
    predicted = np.where(correct, LABELS, rng.integers(0, 7, NUM_DELIVERIES))
    probs = np.full((NUM_DELIVERIES, 7), 0.05, dtype=np.float32)
    probs[np.arange(NUM_DELIVERIES), predicted] = 0.7
    arrays = {"probs": probs / probs.sum(1, keepdims=True), "labels": LABELS, "match": MATCH,
              "innings": 1 + (np.arange(NUM_DELIVERIES) // 15) % 2,
              "phase": np.arange(NUM_DELIVERIES) % 5}  # fmt: skip
    path = tmp_path / f"{key}-{seed}.npz"
    np.savez(path, **{f"{s}_{k}": v for s in ("val", "test") for k, v in arrays.items()})
    return SeedRun(seed=seed, predictions=str(path), run_ref=f"{key[:6]}-{seed}",
                   val_log_loss_history=(1.9, 1.8))  # fmt: skip


def _run_to_completion(
    spec: StudySpec, train: Callable[[Mapping[str, Any], int, str], SeedRun]
) -> tuple[Any, list[list[str]]]:
    runs: dict[tuple[str, int], SeedRun] = {}
    cache = PredictionCache()
    rounds: list[list[str]] = []
    progress = advance(spec, runs, cache)
    while not progress.done:
        missing = progress.missing_runs(runs)
        assert missing, "a study that is not done must be waiting for something"
        rounds.append([experiment.key for experiment, _ in missing])
        for experiment, seeds in missing:
            for seed in seeds:
                runs[(experiment.config_key, seed)] = train(
                    experiment.config, seed, experiment.config_key
                )
        progress = advance(spec, runs, cache)
    return progress, rounds


def test_progression_runs_each_stage_from_the_previous_decision(tmp_path: Path) -> None:
    trained: list[tuple[str, int]] = []

    def train(config: Mapping[str, Any], seed: int, key: str) -> SeedRun:
        trained.append((key, seed))
        return _train(tmp_path, config, seed, key)

    spec = StudySpec(
        template="progression",
        base={"num_heads": 2, "num_layers": 1},
        seeds=(42, 123),
        epochs=1,
        grid={"hidden_dim": (8, 16), "num_layers": (1,), "lr": (1e-3,)},
        num_resamples=300,
    )
    progress, rounds = _run_to_completion(spec, train)

    # Stage 1 steps one parameter at a time; each later stage waits for the one before.
    assert [r[0].split("/")[0] for r in rounds] == ["stage1", "stage2", "stage3", "stage4"]
    assert rounds[0] == ["stage1/hidden_dim=8", "stage1/hidden_dim=16"]
    # Identical configurations are trained once (stage 2's Base = stage 1's best, …).
    assert len(trained) == len(set(trained)) == 2 * (2 + 2 + 2 + 4)
    steps = {d["step"]: d for d in progress.decisions}
    assert steps["stage1.hidden_dim"]["choice"] == {"hidden_dim": 16}
    assert steps["stage1"]["choice"]["best_config_stage1"]["hidden_dim"] == 16
    assert steps["stage2"]["rule"] == "hybrid_beats_both"
    assert steps["stage3"]["choice"]["use_film"] is True
    assert steps["stage3"]["choice"]["use_innings_heads"] is False
    assert progress.final_config is not None
    assert progress.final_config["model"] == "full"
    assert progress.final_config["use_film"] is True
    assert progress.final_config["use_hierarchical"] is False
    assert progress.final_config["hidden_dim"] == 16
    assert all(d["metric"].startswith("val macro_f1") for d in progress.decisions)

    report = build_report(progress.to_dict(), header={"id": 7, "status": "succeeded"},
                          resources=None)  # fmt: skip
    markdown = render(report, "markdown")
    for heading in ("| Variant | Macro F1 | Weighted F1 | Notes |",
                    "| Variant | Macro F1 | Powerplay F1 | Death F1 | Inn 1 F1 | Inn 2 F1 |",
                    "best_config_stage1 =", "final_config =", "| A9 | Full − hierarchical |",
                    "Not measured"):  # fmt: skip
        assert heading in markdown
    assert " ± " in markdown
    # The config blocks are Python as ruff writes it: pasted into docs, they pass
    # `ruff format --check`, and they evaluate to the configs themselves.
    block = markdown.split("final_config = ", 1)[1].split("```", 1)[0]
    assert ast.literal_eval(block) == progress.final_config
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "-"],
        input=f"final_config = {block}",
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    stage4 = [r for r in rows if r["kind"] == "comparison" and r["stage"] == "stage4"]
    assert {r["name"] for r in stage4} == {f"A{i} - A6" for i in (1, 2, 3, 4, 5, 7, 8, 9)}
    assert all(r["t_p"] for r in stage4 if r["split"] == "test")  # two seeds: a t-test
    # Holm adjusts each bootstrap p over its family: the eight ablations on one split and
    # metric. The smallest p is multiplied by 8, and no adjusted p is below its own.
    family = [r for r in stage4 if r["split"] == "test" and r["metric"] == "log_loss"]
    assert len(family) == 8
    assert all(float(r["holm_p"]) >= float(r["bootstrap_p"]) for r in family)
    smallest = min(family, key=lambda r: float(r["bootstrap_p"]))
    assert float(smallest["holm_p"]) == pytest.approx(min(1.0, 8 * float(smallest["bootstrap_p"])))
    assert "| Holm p |" in markdown


def test_single_stage_templates_start_from_the_spec(tmp_path: Path) -> None:
    def train(config: Mapping[str, Any], seed: int, key: str) -> SeedRun:
        return _train(tmp_path, config, seed, key)

    stage3 = StudySpec(template="stage3", base={"hidden_dim": 8, "num_heads": 2}, seeds=(1,),
                       stage3_from="pooling", num_resamples=200)  # fmt: skip
    progress, rounds = _run_to_completion(stage3, train)
    assert rounds == [["stage3/pooling", "stage3/phase_modulated", "stage3/innings_conditional"]]
    assert progress.decisions[0]["compared_with"] == "pooling"
    assert progress.final_config is None

    stage4 = StudySpec(template="stage4", base={"hidden_dim": 8, "num_heads": 2}, seeds=(1,),
                       num_resamples=200)  # fmt: skip
    progress, rounds = _run_to_completion(stage4, train)
    assert rounds == [[f"stage4/A{i}" for i in range(1, 10)]]
    assert progress.final_config is not None and progress.final_config["use_film"] is True


def test_waiting_study_reports_what_it_waits_for() -> None:
    spec = StudySpec(template="stage2", seeds=(1, 2))
    progress = advance(spec, {})
    assert not progress.done and progress.stage == "stage2"
    assert [e.name for e in progress.waiting] == ["base", "pooling", "hybrid"]
    assert [seeds for _, seeds in progress.missing_runs({})] == [[1, 2]] * 3
    markdown = render(build_report(progress.to_dict(), header={}, resources=None), "markdown")
    assert "Waiting for runs." in markdown
