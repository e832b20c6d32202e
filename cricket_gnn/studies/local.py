"""The local executor: trains a study's runs one after another in this process.

State lives in OUTPUT_DIR/study_runs.json, so a study interrupted with Ctrl-C picks up
where it stopped when the same command is run again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cricket_gnn.studies.experiments import FULL_FLAGS, Experiment
from cricket_gnn.studies.machine import RunKey, advance
from cricket_gnn.studies.report import make_report, render
from cricket_gnn.studies.spec import HYPERPARAMETERS, StudySpec
from cricket_gnn.studies.stats import PredictionCache, SeedRun

STATE_FILE = "study_runs.json"
_VALUE_KEYS = ("model", *HYPERPARAMETERS, "epochs", "data_fraction")


class StudyRunFailed(RuntimeError):
    """A training run of the study exited with an error."""


def train_argv(config: dict[str, Any], seed: int, run_name: str) -> list[str]:
    """train.py flags for one run of an experiment's configuration."""
    argv = []
    for key in _VALUE_KEYS:
        if key in config:
            argv += [f"--{key}", str(config[key])]
    if config.get("model") == "full":
        for flag in FULL_FLAGS:
            name = flag.removeprefix("use_")
            argv.append(f"--use_{name}" if config.get(flag, True) else f"--no_{name}")
    return [*argv, "--seed", str(seed), "--run_name", run_name]


def run_name_of(experiment: Experiment, seed: int) -> str:
    """File-name-safe and unique per configuration and seed."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", experiment.name)
    return f"{experiment.stage}-{name}-{experiment.config_key[:8]}-s{seed}"


def seed_run_from_metrics(metrics_path: Path, seed: int, run_ref: str) -> SeedRun:
    """A SeedRun from the trainer's metrics JSON (which names the predictions file)."""
    result = json.loads(metrics_path.read_text())
    if not result.get("predictions_path"):
        raise StudyRunFailed(f"{metrics_path} names no predictions file; retrain the run")
    return SeedRun(
        seed=seed,
        predictions=str(result["predictions_path"]),
        run_ref=run_ref,
        val_log_loss_history=tuple(float(h["val_log_loss"]) for h in result.get("history", [])),
    )


def _load_state(path: Path) -> dict[RunKey, SeedRun]:
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text())
    return {
        (row["config_key"], int(row["seed"])): SeedRun(
            seed=int(row["seed"]),
            predictions=row["predictions"],
            run_ref=row["run_ref"],
            val_log_loss_history=tuple(row["val_log_loss_history"]),
        )
        for row in rows
    }


def _save_state(path: Path, runs: dict[RunKey, SeedRun]) -> None:
    rows = [
        {"config_key": key, "seed": seed, "predictions": run.predictions,
         "run_ref": run.run_ref, "val_log_loss_history": list(run.val_log_loss_history)}
        for (key, seed), run in runs.items()
    ]  # fmt: skip
    path.write_text(json.dumps(rows, indent=1))


def run_study(
    spec: StudySpec,
    *,
    output_dir: Path,
    extra_train_args: list[str],
    resources_path: Path | None = None,
    train: Callable[[list[str]], int] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train every run the study needs, decide each stage, write report.{json,md,csv}."""
    if train is None:
        from cricket_gnn.training.cli import main as train_main

        train = train_main
    output_dir.mkdir(parents=True, exist_ok=True)
    state_path = output_dir / STATE_FILE
    runs = _load_state(state_path)
    cache = PredictionCache()
    progress = advance(spec, runs, cache)
    while not progress.done:
        for experiment, seeds in progress.missing_runs(runs):
            for seed in seeds:
                name = run_name_of(experiment, seed)
                log(f"[{experiment.key}] training {name}")
                argv = train_argv(dict(experiment.config), seed, name)
                code = train([*argv, "--output_dir", str(output_dir), *extra_train_args])
                if code != 0:
                    raise StudyRunFailed(f"run {name} ({experiment.key}) exited with {code}")
                metrics = output_dir / "checkpoints" / f"metrics_{name}.json"
                runs[(experiment.config_key, seed)] = seed_run_from_metrics(metrics, seed, name)
                _save_state(state_path, runs)
        before = len(progress.decisions)
        progress = advance(spec, runs, cache)
        for decision in progress.decisions[before:]:
            log(f"decision {decision['step']}: {decision['summary']}")
    report = make_report(progress.to_dict(), {"status": "succeeded"}, resources_path)
    for fmt, suffix in (("json", "json"), ("markdown", "md"), ("csv", "csv")):
        (output_dir / f"report.{suffix}").write_text(render(report, fmt))
    return report
