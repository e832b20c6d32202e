"""The local executor on a tiny real archive: trains in-process, decides, writes the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from study_archive import write_small_archive

from cricket_gnn.studies.local import run_study
from cricket_gnn.studies.spec import StudySpec
from cricket_gnn.training.cli import main as train_main


@pytest.fixture
def small_archive(archive_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CRICKET_GNN_CACHE", str(tmp_path / "cache"))
    return write_small_archive(archive_path, tmp_path / "small.zip")


def test_stage2_study_trains_decides_reports_and_resumes(
    small_archive: Path, tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def train(argv: list[str]) -> int:
        calls.append(argv)
        return train_main(argv)

    spec = StudySpec(
        template="stage2",
        base={"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "batch_size": 256},
        seeds=(42,),
        epochs=1,
        num_resamples=200,
    )
    extra = ["--data", str(small_archive), "--device", "cpu", "--wandb", "disabled",
             "--no_progress_bar"]  # fmt: skip
    out = tmp_path / "study"
    bench = tmp_path / "bench.json"
    report = run_study(spec, output_dir=out, extra_train_args=extra, train=train,
                       resources_path=bench, log=lambda _line: None)  # fmt: skip

    assert sorted(argv[argv.index("--model") + 1] for argv in calls) == [
        "base", "hybrid", "pooling"
    ]  # fmt: skip
    decision = report["decisions"][0]
    assert decision["step"] == "stage2" and decision["choice"]["variant"] in ("pooling", "hybrid")
    assert {c["split"] for c in decision["evidence"]["comparisons"]} == {"val"}
    markdown = (out / "report.md").read_text()
    assert "| Variant | Macro F1 | Weighted F1 | Notes |" in markdown
    assert "| Base (Stage 1) | 0." in markdown and " ± " in markdown
    assert "pooling − base | test | macro_f1" in markdown
    assert json.loads((out / "report.json").read_text())["done"] is True
    assert (out / "report.csv").read_text().count("\ncomparison,stage2,") == 12

    # Each run left its chosen checkpoint's per-delivery predictions beside its metrics.
    name = json.loads((out / "study_runs.json").read_text())[0]["run_ref"]
    metrics = json.loads((out / "checkpoints" / f"metrics_{name}.json").read_text())
    with np.load(metrics["predictions_path"]) as saved:
        for split in ("val", "test"):
            probs = saved[f"{split}_probs"]
            assert probs.shape == (metrics[split]["n"], 7)
            assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
            assert len(saved[f"{split}_match"]) == len(saved[f"{split}_phase"]) == len(probs)
            assert set(np.unique(saved[f"{split}_innings"])) <= {1, 2}

    # Run again: every run is found in study_runs.json, nothing is retrained.
    calls.clear()
    again = run_study(spec, output_dir=out, extra_train_args=extra, train=train,
                      resources_path=bench, log=lambda _line: None)  # fmt: skip
    assert calls == [] and again["decisions"] == report["decisions"]
