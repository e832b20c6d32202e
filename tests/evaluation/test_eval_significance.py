"""Paired t-test, paired bootstrap over matches, and mean ± sd formatting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import log_loss

from cricket_gnn.evaluation import (
    format_mean_sd,
    mean_sd,
    paired_bootstrap,
    paired_bootstrap_additive,
    paired_t_test,
    per_sample_brier,
    per_sample_log_loss,
)


def matches_with_losses(num_matches: int, balls_per_match: int, true_diff: float, seed: int):
    """Per-ball losses of two models with per-match effects and a known expected gap."""
    rng = np.random.default_rng(seed)
    match_ids = np.arange(num_matches) * 7 + 1000  # ids need not be 0..G-1
    position = np.repeat(np.arange(num_matches), balls_per_match)
    difficulty = rng.normal(1.4, 0.2, num_matches)[position]
    # Some matches suit model a better than others: this is why we resample whole matches.
    match_gap = rng.normal(0.0, 0.05, num_matches)[position]
    loss_b = difficulty + rng.normal(0, 0.5, len(position))
    loss_a = loss_b + true_diff + match_gap + rng.normal(0, 0.3, len(position))
    return loss_a, loss_b, match_ids[position]


def mean_log_loss(y_true: np.ndarray, probs: np.ndarray) -> float:
    return float(per_sample_log_loss(y_true, probs).mean())


def test_paired_t_test_matches_scipy() -> None:
    a = [0.912, 0.905, 0.921, 0.917, 0.909]
    b = [0.930, 0.921, 0.925, 0.936, 0.931]
    result = paired_t_test(a, b)
    expected = stats.ttest_rel(a, b)
    assert result["t"] == pytest.approx(expected.statistic)
    assert result["p_value"] == pytest.approx(expected.pvalue)
    assert result["mean_diff"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert result["sd_diff"] == pytest.approx(np.std(np.subtract(a, b), ddof=1))
    assert result["n"] == 5 and result["note"] is None


@pytest.mark.parametrize(
    ("a", "b", "note"),
    [([0.9], [0.8], "at least 2"), ([0.9, 0.8, 0.7], [0.8, 0.7, 0.6], "zero variance")],
)
def test_paired_t_test_undefined_cases_return_no_p_value(a, b, note) -> None:
    result = paired_t_test(a, b)
    assert result["p_value"] is None and result["t"] is None
    assert note in result["note"]


def test_paired_t_test_rejects_unpaired_input() -> None:
    with pytest.raises(ValueError, match="paired"):
        paired_t_test([1.0, 2.0], [1.0])


def test_per_sample_losses_average_to_sklearn_and_brier(hand, make_batch) -> None:
    batch = make_batch(300, 21)
    y_true, probs = batch["y_true"], batch["probs"]
    assert per_sample_log_loss(y_true, probs).mean() == pytest.approx(
        log_loss(y_true, y_proba=probs, labels=list(range(7))), abs=1e-12
    )
    assert per_sample_brier(hand.y_true, hand.probs) == pytest.approx(
        [0.11, 0.22, 0.94, 0.70, 0.06]
    )


def test_additive_bootstrap_ci_covers_the_true_difference() -> None:
    # A 95% interval should miss the true gap in about 5 of 100 independent data sets
    # (percentile intervals under-cover slightly with ~100 matches).
    covered = []
    for seed in range(100):
        loss_a, loss_b, groups = matches_with_losses(100, 30, true_diff=-0.05, seed=seed)
        result = paired_bootstrap_additive(loss_a, loss_b, groups, num_resamples=500, seed=seed)
        assert result["diff"] == pytest.approx(loss_a.mean() - loss_b.mean())
        assert result["significant"] and result["ci_high"] < 0 and result["p_value"] < 0.01
        covered.append(result["ci_low"] < -0.05 < result["ci_high"])
    assert sum(covered) >= 85


def test_additive_bootstrap_of_identical_models_includes_zero() -> None:
    loss_a, _, groups = matches_with_losses(100, 40, true_diff=0.0, seed=23)
    result = paired_bootstrap_additive(loss_a, loss_a.copy(), groups, num_resamples=500)
    assert result["diff"] == 0.0
    assert result["ci_low"] <= 0.0 <= result["ci_high"]
    assert not result["significant"] and result["p_value"] == 1.0


def test_generic_bootstrap_separates_a_clearly_better_model() -> None:
    rng = np.random.default_rng(24)
    probs = rng.dirichlet(np.full(7, 0.5), size=1200)
    # Labels drawn from model a's own distribution; model b ignores the ball.
    y_true = (probs.cumsum(axis=1) > rng.random((1200, 1))).argmax(axis=1)
    uniform = np.full_like(probs, 1 / 7)
    groups = np.repeat(np.arange(40), 30)
    result = paired_bootstrap(mean_log_loss, y_true, probs, uniform, groups, num_resamples=300)
    assert result["significant"] and result["ci_high"] < 0
    same = paired_bootstrap(mean_log_loss, y_true, uniform, uniform, groups, num_resamples=100)
    assert same["ci_low"] <= 0.0 <= same["ci_high"] and not same["significant"]


def test_generic_and_additive_paths_agree_for_mean_losses(make_batch) -> None:
    batch = make_batch(600, 25)
    groups = np.random.default_rng(26).integers(0, 25, 600)  # uneven match sizes
    other = np.roll(batch["probs"], 1, axis=0)
    generic = paired_bootstrap(
        mean_log_loss, batch["y_true"], batch["probs"], other, groups, num_resamples=300, seed=5
    )
    additive = paired_bootstrap_additive(
        per_sample_log_loss(batch["y_true"], batch["probs"]),
        per_sample_log_loss(batch["y_true"], other),
        groups,
        num_resamples=300,
        seed=5,
    )
    for key in ("diff", "ci_low", "ci_high", "p_value"):
        assert generic[key] == pytest.approx(additive[key], abs=1e-12)


def test_mean_sd_and_format() -> None:
    assert mean_sd([0.5]) == (0.5, 0.0)
    mean, sd = mean_sd([1.0, 2.0, 3.0])
    assert (mean, sd) == (2.0, 1.0)
    assert format_mean_sd(0.12341, 0.00118) == "0.1234 ± 0.0012"
    assert format_mean_sd(1.5, 0.25, digits=2) == "1.50 ± 0.25"
    with pytest.raises(ValueError):
        mean_sd([])
