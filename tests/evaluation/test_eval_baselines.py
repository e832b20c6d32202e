"""Reference baselines on a 5% slice of the real archive: priors, trees, val-only tuning, CLI."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cricket_gnn.data import CricketDataset, load_dataset
from cricket_gnn.evaluation.baseline_cli import add_baseline_command, main
from cricket_gnn.evaluation.baselines import (
    class_prior_probs,
    run_baselines,
    split_rows,
    tabular_feature_names,
    tabular_features,
)

FRACTION = 0.05
# Enough rounds to beat the prior on ~20k train balls, few enough to keep the test quick.
MAX_ITER = 25


@pytest.fixture(scope="module")
def small_dataset(archive_path: Path, tmp_path_factory: pytest.TempPathFactory) -> CricketDataset:
    """5% of the real matches of each split, cached where the CLI test will look too."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    return load_dataset(archive_path, data_fraction=FRACTION, cache_dir=cache)


@pytest.fixture(scope="module")
def report(small_dataset: CricketDataset) -> dict[str, Any]:
    """Both baselines on the small slice, with per-sample test losses."""
    return run_baselines(small_dataset, seed=0, max_iter=MAX_ITER, keep_per_sample=True)


def test_class_prior_is_the_train_class_frequency(small_dataset: CricketDataset) -> None:
    train_labels = small_dataset.labels[split_rows(small_dataset, "train")]
    frequencies = np.bincount(train_labels, minlength=7) / len(train_labels)
    probs = class_prior_probs(small_dataset, "test")
    assert probs.shape == (len(split_rows(small_dataset, "test")), 7)
    np.testing.assert_allclose(probs, np.broadcast_to(frequencies, probs.shape), atol=1e-12)


def test_tabular_features_have_stable_documented_columns(small_dataset: CricketDataset) -> None:
    rows = split_rows(small_dataset, "val")[:50]
    features = tabular_features(small_dataset, rows)
    names = tabular_feature_names(small_dataset)
    assert features.shape == (50, len(names))
    assert names[-2:] == ["innings", "phase"]
    assert names[0].startswith("batting_momentum[")  # context types sorted by name
    np.testing.assert_array_equal(features[:, -1], small_dataset.phase[rows])
    assert set(features[:, -2]) <= {1.0, 2.0}


def test_gradient_boosting_beats_the_class_prior_on_val(report: dict[str, Any]) -> None:
    trees, prior = report["gradient_boosting"], report["class_prior"]
    assert trees["val"]["log_loss"] < prior["val"]["log_loss"]
    assert trees["fit_seconds"] > 0
    assert 1 <= trees["num_iterations"] <= MAX_ITER
    for name in ("class_prior", "gradient_boosting"):
        for split in ("val", "test"):
            assert "macro_f1_tuned" in report[name][split]
            assert set(report[name][split]["per_phase"]) >= {"powerplay", "death_2"}


def test_per_sample_test_losses_average_to_the_reported_log_loss(
    report: dict[str, Any], small_dataset: CricketDataset
) -> None:
    per_sample = report["test_per_sample"]
    test_rows = split_rows(small_dataset, "test")
    np.testing.assert_array_equal(per_sample["row"], test_rows)
    assert len(per_sample["match_id"]) == len(test_rows)
    for name in ("class_prior", "gradient_boosting"):
        mean = per_sample[f"{name}_log_loss"].mean()
        assert mean == pytest.approx(report[name]["test"]["log_loss"], abs=1e-9)


def test_decision_bias_and_model_never_see_test_labels(
    report: dict[str, Any], small_dataset: CricketDataset
) -> None:
    # Scramble the test labels: a baseline that fits or tunes on val/train only must
    # produce the same bias and val metrics, while its test scores do change.
    labels = small_dataset.labels.copy()
    test_rows = split_rows(small_dataset, "test")
    labels[test_rows] = np.random.default_rng(1).permutation(labels[test_rows])
    scrambled = run_baselines(
        dataclasses.replace(small_dataset, labels=labels), seed=0, max_iter=MAX_ITER
    )
    for name in ("class_prior", "gradient_boosting"):
        assert scrambled[name]["decision_bias"] == report[name]["decision_bias"]
        assert scrambled[name]["val"]["log_loss"] == report[name]["val"]["log_loss"]
        assert scrambled[name]["val"]["macro_f1_tuned"] == report[name]["val"]["macro_f1_tuned"]
    trees = "gradient_boosting"
    assert scrambled[trees]["test"]["log_loss"] != report[trees]["test"]["log_loss"]


def test_cli_prints_the_table_and_writes_json(
    archive_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out" / "baselines.json"
    argv = ["--data", str(archive_path), "--data_fraction", str(FRACTION)]
    status = main([*argv, "--max_iter", "5", "--output", str(output)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "| baseline | split | log loss | Brier | ECE |" in printed
    assert "macro F1 (val-tuned rule)" in printed
    for row in ("| class prior | val |", "| class prior | test |", "| gradient boosting | test |"):
        assert row in printed
    written = json.loads(output.read_text())
    assert written["gradient_boosting"]["max_iter"] == 5
    assert len(written["class_prior"]["decision_bias"]) == 7
    assert written["class_prior"]["test"]["log_loss"] > 0


def test_cli_reports_a_missing_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--data", str(tmp_path / "nowhere.zip")])
    assert status == 2
    assert "no such archive" in capsys.readouterr().err


def test_baseline_registers_as_a_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="cricket-gnn")
    add_baseline_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["baseline", "--data_fraction", "0.1", "--seed", "3"])
    assert (args.command, args.data_fraction, args.seed, args.max_iter) == ("baseline", 0.1, 3, 300)
    assert args.output is None and callable(args.handler)
