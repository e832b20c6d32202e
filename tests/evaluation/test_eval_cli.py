"""`cricket-gnn evaluate` end to end: a tiny checkpoint trained in-process on made-up matches."""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cricsheet_factory import ball, innings, match, write_zip  # noqa: E402

from cricket_gnn.cli import main  # noqa: E402
from cricket_gnn.data.dataset import load_dataset  # noqa: E402
from cricket_gnn.data.schema import TEST_START  # noqa: E402
from cricket_gnn.evaluation.checkpoint_eval import MODEL_NAMES, softmax  # noqa: E402
from cricket_gnn.evaluation.metrics import compute_metrics  # noqa: E402
from cricket_gnn.models import ModelConfig  # noqa: E402
from cricket_gnn.training.checkpoint import load_checkpoint  # noqa: E402
from cricket_gnn.training.config import TrainConfig  # noqa: E402
from cricket_gnn.training.distributed import DistInfo  # noqa: E402
from cricket_gnn.training.trainer import Trainer  # noqa: E402

TRAIN_DATES = [f"2023-{month:02d}-15" for month in range(1, 11)]
VAL_DATES = ["2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01"]
TEST_DATES = ["2025-01-10", "2025-02-10", "2025-03-10", "2025-04-10"]
LATER_DATES = ["2025-06-01", "2025-07-01"]
# Test matches in which a debutant (unseen in train) opens the batting and bowls an over.
DEBUT_DATES = {"2025-02-10", "2025-04-10"}
OUTCOMES = [0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 4, 6, "out"]


def made_up_match(date: str, seed: int) -> dict[str, Any]:
    """Two 24-ball innings of random outcomes between Alpha and Beta."""
    rng = random.Random(seed)
    debut = date in DEBUT_DATES
    docs = []
    for side, (team, batting, bowling) in enumerate((("Alpha", "A", "B"), ("Beta", "B", "A"))):
        order = [f"{batting}{i}" for i in range(1, 12)]
        if debut and side == 0:
            order[0] = "C1"
        striker, non_striker, next_in = order[0], order[1], 2
        balls = []
        for number in range(24):
            over = number // 6
            bowler = "C2" if debut and side == 1 and over == 1 else f"{bowling}{1 + over % 4}"
            outcome = rng.choice(OUTCOMES)
            if outcome == "out" and next_in < 11:
                balls.append(
                    ball(0, batter=striker, non_striker=non_striker, bowler=bowler, out=striker)
                )
                striker, next_in = order[next_in], next_in + 1
                continue
            runs = 0 if outcome == "out" else int(outcome)
            balls.append(ball(runs, batter=striker, non_striker=non_striker, bowler=bowler))
            if runs % 2:
                striker, non_striker = non_striker, striker
        target = {"overs": 20, "runs": 40} if side else None
        docs.append(innings(team, balls, target=target))
    return match(docs, date=date, extra_people=("C1", "C2") if debut else ())


def archive_files(dates: list[str], seeds: dict[str, int] | None = None) -> dict[str, Any]:
    """`{<id>.json: match}`; the id encodes the date so tests can name matches by date."""
    seeds = seeds or {}
    return {
        f"{date.replace('-', '')}.json": made_up_match(date, seeds.get(date, index))
        for index, date in enumerate(dates)
    }


BASE_DATES = TRAIN_DATES + VAL_DATES + TEST_DATES


def match_id(date: str) -> str:
    return date.replace("-", "")


@pytest.fixture(scope="module")
def base_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("archives")
    return write_zip(folder / "base.zip", archive_files(BASE_DATES))


@pytest.fixture(scope="module")
def checkpoint(base_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained for two steps; the trainer fits its temperature on val."""
    dataset = load_dataset(base_archive, cache_dir=tmp_path_factory.mktemp("train-cache"))
    # `full` with two layers: career statistics reach the query (hierarchical player vectors).
    model = ModelConfig(model="full", hidden_dim=8, num_layers=2, num_heads=2, dropout=0.0)
    config = TrainConfig(run_name="evaltiny", epochs=1, batch_size=128, max_steps_per_epoch=2)
    output = tmp_path_factory.mktemp("run")
    Trainer(model, config, dataset, DistInfo(), output).fit()
    return output / "checkpoints" / "best_loss_evaltiny.pt"


@contextmanager
def one_thread() -> Iterator[None]:
    # Multi-threaded CPU scatter sums are not bit-reproducible; one thread makes the
    # leakage comparisons exact.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def evaluate(
    checkpoint: Path, archive: Path, output: Path, cache: Path, *extra: str
) -> tuple[dict[str, Any], Any]:
    """Run the command; return the JSON report and the per-delivery predictions."""
    argv = ["evaluate", str(checkpoint), "--data", str(archive), "--output", str(output)]
    argv += ["--cache-dir", str(cache), "--bootstrap-resamples", "200", *extra]
    with one_thread():
        assert main(argv) == 0
    report = json.loads((output / "report.json").read_text())
    return report, np.load(output / "predictions.npz")


@dataclass(frozen=True)
class DefaultRun:
    """`evaluate CHECKPOINT --data base.zip` with no range, and what it printed."""

    report: dict[str, Any]
    predictions: Any
    output: Path
    cache: Path
    printed: str


@pytest.fixture(scope="module")
def default_run(
    checkpoint: Path, base_archive: Path, tmp_path_factory: pytest.TempPathFactory
) -> DefaultRun:
    folder = tmp_path_factory.mktemp("default-run")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        report, predictions = evaluate(checkpoint, base_archive, folder / "out", folder / "cache")
    return DefaultRun(report, predictions, folder / "out", folder / "cache", buffer.getvalue())


def assert_matches(actual: Any, expected: Any, path: str = "") -> None:
    """Every value of `expected` (compute_metrics' dict) is in `actual`, equal to 1e-12."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_matches(actual[key], value, f"{path}.{key}")
    elif expected is None:
        assert actual is None, path
    else:
        assert actual == pytest.approx(expected, abs=1e-12), path


def test_evaluate_writes_every_report_and_its_metrics_match_compute_metrics(
    checkpoint: Path, default_run: DefaultRun
) -> None:
    report, predictions = default_run.report, default_run.predictions
    assert "| gradient boosting |" in default_run.printed
    assert "| class prior |" in default_run.printed
    assert "Paired bootstrap over 4 matches" in default_run.printed
    markdown = (default_run.output / "report.md").read_text()
    assert "## Per phase" in markdown and "## Calibration, one-vs-rest per class" in markdown
    png = (default_run.output / "reliability.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"

    # No --from/--to: the checkpoint's test split.
    assert report["range"]["from"] == TEST_START
    assert set(predictions["match_id"]) == {match_id(d) for d in TEST_DATES}
    assert report["range"]["deliveries"] == len(predictions["label"]) == 4 * 2 * 24

    # The temperature fitted on val is in the checkpoint, and evaluate applies it.
    saved = load_checkpoint(checkpoint)
    assert report["temperature"] == saved["temperature"] != 1.0
    assert report["temperature_source"] == "checkpoint"
    np.testing.assert_allclose(
        predictions["probs_checkpoint"],
        softmax(predictions["logits"], saved["temperature"]),
        rtol=0,
        atol=1e-12,
    )
    assert report["decision_bias"]["checkpoint"] == pytest.approx(saved["decision_bias"])

    for name in MODEL_NAMES:
        bias = None if name == "checkpoint_raw" else predictions[f"decision_bias_{name}"]
        expected = compute_metrics(
            predictions["label"],
            predictions[f"probs_{name}"],
            phase=predictions["phase"],
            innings=predictions["innings"],
            decision_bias=bias,
        )
        assert_matches(report["metrics"][name], expected, name)
    raw, calibrated = report["metrics"]["checkpoint_raw"], report["metrics"]["checkpoint"]
    assert raw["accuracy"] == calibrated["accuracy"]  # T rescales, argmax stays
    assert raw["log_loss"] != calibrated["log_loss"]

    # The debutants make some deliveries unseen; the subset reports are on exactly those.
    unseen = predictions["unseen_striker"] | predictions["unseen_bowler"]
    assert 0 < unseen.sum() < len(unseen)
    assert set(predictions["match_id"][unseen]) == {match_id(d) for d in DEBUT_DATES}
    assert report["unseen"]["n"] == report["unseen"]["unseen"]["checkpoint"]["n"] == unseen.sum()
    assert report["unseen"]["seen"]["gradient_boosting"]["n"] == (~unseen).sum()

    for comparison in ("checkpoint_vs_gradient_boosting", "checkpoint_vs_class_prior"):
        for metric in ("log_loss", "brier"):
            result = report["bootstrap"]["comparisons"][comparison][metric]
            assert result["ci_low"] <= result["diff"] <= result["ci_high"]
    per_class = report["calibration"]["checkpoint"]["per_class"]
    assert set(per_class) == {"dot", "single", "two", "three", "four", "six", "wicket"}
    for entry in per_class.values():
        assert sum(b["n"] for b in entry["bins"]) == len(unseen)


def test_date_range_selects_exactly_its_matches_and_the_trees_come_from_cache(
    checkpoint: Path, base_archive: Path, default_run: DefaultRun, tmp_path: Path
) -> None:
    window = ("--from", "2024-08-01", "--to", "2025-02-10")
    report, predictions = evaluate(
        checkpoint, base_archive, tmp_path / "out", default_run.cache, *window
    )
    in_range = {"2024-08-01", "2024-09-01", "2024-10-01", "2025-01-10", "2025-02-10"}
    assert set(predictions["match_id"]) == {match_id(d) for d in in_range}
    assert set(predictions["match_date"]) == in_range
    assert report["range"]["matches"] == 5
    assert any("not out-of-sample" in note for note in report["notes"])

    # The first evaluation fitted the trees; this one, same archive and split, reuses them.
    first = default_run.report["baselines"]["gradient_boosting"]
    trees = report["baselines"]["gradient_boosting"]
    assert (first["from_cache"], trees["from_cache"]) == (False, True)
    assert trees["cache_path"] == first["cache_path"]
    assert Path(trees["cache_path"]).is_file()
    bias = report["decision_bias"]["gradient_boosting"]
    assert bias == default_run.report["decision_bias"]["gradient_boosting"]


def test_bad_dates_and_empty_ranges_are_refused(
    checkpoint: Path, base_archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["evaluate", str(checkpoint), "--data", str(base_archive), "--cache-dir", str(tmp_path)]
    assert main([*base, "--from", "31/01/2025"]) == 2
    assert "--from must be an ISO date" in capsys.readouterr().err
    assert main([*base, "--from", "2026-01-01"]) == 2
    assert "no target deliveries between 2026-01-01" in capsys.readouterr().err


def test_scores_do_not_depend_on_later_matches_or_on_scored_outcomes(
    checkpoint: Path, default_run: DefaultRun, tmp_path: Path
) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    with_later = write_zip(folder / "later.zip", archive_files(BASE_DATES + LATER_DATES))
    # The last scored match replayed with other outcomes (same players, same length).
    changed = write_zip(folder / "changed.zip", archive_files(BASE_DATES, {TEST_DATES[-1]: 999}))
    window = ("--to", "2025-04-30")
    cache = tmp_path / "cache"
    base = default_run.predictions  # the same four test matches, no later ones in the archive
    _, later = evaluate(checkpoint, with_later, tmp_path / "later", cache, *window)
    _, other = evaluate(checkpoint, changed, tmp_path / "changed", cache, *window)

    # Matches after --to are not scored and change nothing that is.
    assert np.array_equal(later["match_id"], base["match_id"])
    for key in ("logits", "probs_checkpoint", "probs_gradient_boosting", "probs_class_prior"):
        assert np.array_equal(later[key], base[key]), key

    # A scored match's outcomes reach no earlier delivery: every other match scores the
    # same, and so does the changed match's first ball.
    assert not np.array_equal(other["label"], base["label"])
    earlier = base["match_id"] != match_id(TEST_DATES[-1])
    for key in ("logits", "probs_checkpoint", "probs_gradient_boosting"):
        assert np.array_equal(other[key][earlier], base[key][earlier]), key
    first_ball = int(np.flatnonzero(~earlier)[0])
    assert np.array_equal(other["logits"][first_ball], base["logits"][first_ball])


def compare(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["compare", *argv])
    return status, out.getvalue(), err.getvalue()


def test_compare_averages_seeds_and_pairs_them_with_the_trees_and_another_model(
    checkpoint: Path, base_archive: Path, default_run: DefaultRun, tmp_path: Path
) -> None:
    # A second evaluation of the same deliveries: other tree seed, so other trees.
    second, second_predictions = evaluate(
        checkpoint, base_archive, tmp_path / "second", default_run.cache, "--seed", "1"
    )
    first, first_predictions = default_run.report, default_run.predictions
    one = str(default_run.output)
    status, printed, _ = compare(
        one, str(tmp_path / "second"), "--against", one, "--output", str(tmp_path / "cmp"),
        "--bootstrap-resamples", "200",
    )  # fmt: skip
    assert status == 0
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert (tmp_path / "cmp" / "comparison.md").read_text().strip() in printed
    assert "## Issue 8 targets" in printed and "| ECE <= 0.02 |" in printed
    bound = result["trade_offs"]["checkpoint"]["macro_f1_bound"]
    assert "| macro F1 bound |" in printed and 0 < bound <= 1

    # The summary is the mean over the evaluations of what each report says.
    summary = result["summary"]
    for model in ("checkpoint", "gradient_boosting"):
        for key in ("log_loss", "brier", "macro_f1_tuned"):
            per_run = [first["metrics"][model][key], second["metrics"][model][key]]
            assert summary[model][key]["runs"] == pytest.approx(per_run, abs=1e-12)
            assert summary[model][key]["mean"] == pytest.approx(np.mean(per_run), abs=1e-12)
    assert summary["gradient_boosting"]["log_loss"]["sd"] > 0  # the two tree seeds differ

    # Bootstrap vs trees: the seed-averaged per-delivery loss, so its mean difference is
    # exactly mean(ours) - mean(trees) over the two evaluations.
    trees = result["comparisons"]["gradient_boosting"]["log_loss"]["all"]
    ours = np.mean([summary["checkpoint"]["log_loss"]["runs"]])
    theirs = np.mean([summary["gradient_boosting"]["log_loss"]["runs"]])
    assert trees["diff"] == pytest.approx(ours - theirs, abs=1e-12)
    assert trees["ci_low"] <= trees["diff"] <= trees["ci_high"]
    # Both evaluations scored the same checkpoint, so their ensemble is that checkpoint.
    ensemble = result["comparisons"]["ensemble_vs_gradient_boosting"]["log_loss"]["all"]
    assert ensemble["diff"] == pytest.approx(trees["diff"], abs=1e-12)
    unseen = first_predictions["unseen_striker"] | first_predictions["unseen_bowler"]
    by_subset = result["comparisons"]["gradient_boosting"]["brier"]
    assert (by_subset["unseen"]["n"], by_subset["seen"]["n"]) == (unseen.sum(), (~unseen).sum())

    # Against the first evaluation alone: the checkpoint is the same, so its per-delivery
    # loss is identical in both groups and every difference is exactly zero.
    against = result["comparisons"]["against"]["log_loss"]
    assert all(against[s]["diff"] == 0.0 for s in ("all", "unseen", "seen"))
    np.testing.assert_array_equal(
        first_predictions["probs_checkpoint"], second_predictions["probs_checkpoint"]
    )

    # One evaluation against the trees reproduces evaluate's own bootstrap (same resamples
    # and seed): compare re-derives it from predictions.npz and agrees to 1e-12.
    status, _, _ = compare(
        one, "--output", str(tmp_path / "single"), "--bootstrap-resamples", "200"
    )
    single = json.loads((tmp_path / "single" / "comparison.json").read_text())
    own = first["bootstrap"]["comparisons"]["checkpoint_vs_gradient_boosting"]["log_loss"]
    got = single["comparisons"]["gradient_boosting"]["log_loss"]["all"]
    assert status == 0 and "ensemble_vs_gradient_boosting" not in single["comparisons"]
    assert (got["diff"], got["ci_low"], got["ci_high"]) == pytest.approx(
        (own["diff"], own["ci_low"], own["ci_high"]), abs=1e-12
    )


def test_compare_refuses_other_deliveries_and_folders_that_are_not_evaluations(
    checkpoint: Path, base_archive: Path, default_run: DefaultRun, tmp_path: Path
) -> None:
    evaluate(
        checkpoint, base_archive, tmp_path / "window", default_run.cache,
        "--from", "2025-01-10", "--to", "2025-02-10",
    )  # fmt: skip
    status, printed, error = compare(str(default_run.output), str(tmp_path / "window"))
    assert (status, printed) == (2, "")
    assert "scored other deliveries" in error and "same archive and date range" in error

    (tmp_path / "empty").mkdir()
    status, _, error = compare(str(default_run.output), "--against", str(tmp_path / "empty"))
    assert status == 2
    assert "no report.json" in error and "cricket-gnn evaluate" in error
