"""The significance helpers a study relies on, against scipy and the library's reference bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn.metrics import f1_score

from cricket_gnn.evaluation.significance import paired_bootstrap, paired_t_test
from cricket_gnn.studies.report import holm
from cricket_gnn.studies.stats import PredictionCache, SeedRun, compare, seed_metrics

LABELS = list(range(7))


def _write(path: Path, labels: np.ndarray, probs: np.ndarray, match: np.ndarray) -> str:
    arrays = {"probs": probs.astype(np.float32), "labels": labels, "match": match,
              "innings": 1 + (np.arange(len(labels)) % 2), "phase": np.arange(len(labels)) % 5}  # fmt: skip
    np.savez(path, **{f"{split}_{k}": v for split in ("val", "test") for k, v in arrays.items()})
    return str(path)


def _probs(labels: np.ndarray, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities whose argmax is the true label with about `accuracy` chance."""
    predicted = np.where(
        rng.random(len(labels)) < accuracy, labels, rng.integers(0, 7, len(labels))
    )
    probs = np.full((len(labels), 7), 0.05)
    probs[np.arange(len(labels)), predicted] = 0.7
    return probs / probs.sum(axis=1, keepdims=True)


def test_paired_t_test_matches_scipy() -> None:
    a, b = [0.21, 0.25, 0.19, 0.23], [0.20, 0.22, 0.18, 0.20]
    expected = scipy_stats.ttest_rel(a, b)
    result = paired_t_test(a, b)
    assert result["t"] == pytest.approx(expected.statistic)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    assert result["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert paired_t_test([0.2], [0.1])["p_value"] is None  # one seed: undefined, with a note


def test_holm_adjusts_each_p_by_its_rank_and_keeps_the_order() -> None:
    # By hand: sorted 0.01, 0.03, 0.04, 0.5 → 4·0.01, 3·0.03, max(0.09, 2·0.04), max(0.09, 0.5).
    adjusted = holm([0.01, 0.04, 0.03, 0.5, None])
    assert adjusted[:4] == pytest.approx([0.04, 0.09, 0.09, 0.5]) and adjusted[4] is None
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_group_metrics_match_sklearn(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 7, 400)
    probs = _probs(labels, 0.4, rng)
    cache = PredictionCache()
    arrays = cache.get(_write(tmp_path / "p.npz", labels, probs, np.repeat(np.arange(40), 10)))
    metrics = seed_metrics(arrays["val"], "powerplay")
    mask = arrays["val"]["phase"] == 0
    pred = probs.argmax(axis=1)
    assert metrics["n"] == int(mask.sum())
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(labels[mask], pred[mask], labels=LABELS, average="macro", zero_division=0)
    )
    assert metrics["weighted_f1"] == pytest.approx(
        f1_score(labels[mask], pred[mask], labels=LABELS, average="weighted", zero_division=0)
    )


def test_match_bootstrap_equals_the_reference_bootstrap_for_one_seed(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 7, 600)
    match = np.repeat(np.arange(30), 20)
    good, poor = _probs(labels, 0.6, rng), _probs(labels, 0.3, rng)
    cache = PredictionCache()
    a = ("good", [SeedRun(seed=1, predictions=_write(tmp_path / "a.npz", labels, good, match))])
    b = ("poor", [SeedRun(seed=1, predictions=_write(tmp_path / "b.npz", labels, poor, match))])
    result = compare(a, b, split="test", group="all", metric="macro_f1", cache=cache,
                     num_resamples=500, bootstrap_seed=7)  # fmt: skip

    def macro_f1(y: np.ndarray, p: np.ndarray) -> float:
        return float(f1_score(y, p.argmax(axis=1), labels=LABELS, average="macro", zero_division=0))

    reference = paired_bootstrap(macro_f1, labels, good.astype(np.float32),
                                 poor.astype(np.float32), match, num_resamples=500, seed=7)  # fmt: skip
    assert result.bootstrap is not None
    for key in ("diff", "ci_low", "ci_high", "p_value"):
        assert result.bootstrap[key] == pytest.approx(reference[key], abs=1e-9)
    assert result.verdict == "better" and result.to_dict()["significant"] is True


def test_bootstrap_interval_agrees_with_scipy_when_each_match_is_one_ball(tmp_path: Path) -> None:
    """With one delivery per match the match bootstrap is scipy's paired percentile bootstrap."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, 3000)
    match = np.arange(3000)
    pa, pb = _probs(labels, 0.5, rng), _probs(labels, 0.45, rng)
    cache = PredictionCache()
    a = ("a", [SeedRun(seed=1, predictions=_write(tmp_path / "a.npz", labels, pa, match))])
    b = ("b", [SeedRun(seed=1, predictions=_write(tmp_path / "b.npz", labels, pb, match))])
    ours = compare(a, b, split="val", group="all", metric="log_loss", cache=cache,
                   num_resamples=4000, bootstrap_seed=0).bootstrap  # fmt: skip
    loss_a = -np.log(pa.astype(np.float32).astype(np.float64)[np.arange(3000), labels])
    loss_b = -np.log(pb.astype(np.float32).astype(np.float64)[np.arange(3000), labels])
    theirs = scipy_stats.bootstrap(
        (loss_a, loss_b),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=0,
    ).confidence_interval
    assert ours is not None
    width = theirs.high - theirs.low
    assert ours["ci_low"] == pytest.approx(theirs.low, abs=0.05 * width)
    assert ours["ci_high"] == pytest.approx(theirs.high, abs=0.05 * width)


def test_seeds_are_paired_and_misaligned_predictions_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 7, 200)
    match = np.repeat(np.arange(20), 10)
    cache = PredictionCache()
    runs_a = [SeedRun(seed=s, predictions=_write(tmp_path / f"a{s}.npz", labels,
                                                 _probs(labels, 0.5, rng), match)) for s in (1, 2, 3)]  # fmt: skip
    runs_b = [SeedRun(seed=s, predictions=_write(tmp_path / f"b{s}.npz", labels,
                                                 _probs(labels, 0.5, rng), match)) for s in (3, 2, 1)]  # fmt: skip
    result = compare(("a", runs_a), ("b", runs_b), split="val", group="all", metric="macro_f1",
                     cache=cache, num_resamples=200)  # fmt: skip
    per_seed = {
        run.seed: seed_metrics(cache.get(run.predictions)["val"], "all")["macro_f1"]
        for run in runs_a + runs_b
        if run in runs_a
    }
    assert result.t_test["n"] == 3 and result.mean_a == pytest.approx(
        np.mean(list(per_seed.values()))
    )

    other = SeedRun(seed=1, predictions=_write(tmp_path / "o.npz", labels[::-1].copy(),
                                               _probs(labels, 0.5, rng), match))  # fmt: skip
    with pytest.raises(ValueError, match="different deliveries"):
        compare(("a", runs_a[:1]), ("o", [other]), split="val", group="all",
                metric="macro_f1", cache=cache)  # fmt: skip
