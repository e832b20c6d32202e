"""The guide's decision rules on crafted val comparisons: every branch of every stage."""

from __future__ import annotations

import pytest

from cricket_gnn.studies import rules
from cricket_gnn.studies.stats import Comparison

PHASES = ("powerplay", "middle_1", "middle_2", "death_1", "death_2")


def cmp(
    diff: float, low: float, high: float, *, split: str = "val", metric: str = "macro_f1"
) -> Comparison:
    """A − B with a bootstrap interval [low, high]."""
    return Comparison(
        a="a",
        b="b",
        split=split,
        group="all",
        metric=metric,
        mean_a=0.2 + diff,
        mean_b=0.2,
        diff=diff,
        t_test={"p_value": None},
        bootstrap={"diff": diff, "ci_low": low, "ci_high": high, "p_value": 0.01},
    )


BETTER, WORSE, SAME = cmp(0.02, 0.01, 0.03), cmp(-0.02, -0.03, -0.01), cmp(0.001, -0.01, 0.01)


def test_verdicts_follow_the_interval_and_the_metric_direction() -> None:
    assert (BETTER.verdict, WORSE.verdict, SAME.verdict) == ("better", "worse", "≈")
    # Lower log loss is better: an interval below 0 is an improvement.
    assert cmp(-0.1, -0.2, -0.05, metric="log_loss").verdict == "better"
    assert cmp(0.0, 0.0, 0.0).verdict == "≈"  # an interval touching 0 contains it


@pytest.mark.parametrize(
    ("pooling_vs_base", "hybrid_vs_base", "pooling_vs_hybrid", "rule", "winner"),
    [
        (BETTER, SAME, BETTER, "pooling_beats_both", "pooling"),
        (SAME, BETTER, WORSE, "hybrid_beats_both", "hybrid"),
        (SAME, SAME, SAME, "both_about_base", "hybrid"),
        (SAME, SAME, BETTER, "both_about_base", "hybrid"),
        (BETTER, BETTER, SAME, "no_clear_winner", "pooling"),  # higher mean diff wins
        (WORSE, SAME, WORSE, "no_clear_winner", "hybrid"),
        (BETTER, SAME, SAME, "no_clear_winner", "pooling"),  # ≈ hybrid: higher mean carried
    ],
)
def test_stage2_branches(
    pooling_vs_base: Comparison,
    hybrid_vs_base: Comparison,
    pooling_vs_hybrid: Comparison,
    rule: str,
    winner: str,
) -> None:
    decision = rules.decide_stage2(pooling_vs_base, hybrid_vs_base, pooling_vs_hybrid)
    assert decision["rule"] == rule
    assert decision["choice"] == {"variant": winner}
    if rule == "both_about_base":
        assert "investigate why" in decision["summary"]


def test_stage2_refuses_test_numbers() -> None:
    with pytest.raises(ValueError, match="val macro_f1 only"):
        rules.decide_stage2(cmp(0.02, 0.01, 0.03, split="test"), SAME, SAME)
    with pytest.raises(ValueError, match="val macro_f1 only"):
        rules.decide_stage2(cmp(-0.1, -0.2, -0.1, metric="log_loss"), SAME, SAME)


def _phases(**verdicts: Comparison) -> dict[str, Comparison]:
    return {phase: verdicts.get(phase, SAME) for phase in PHASES}


@pytest.mark.parametrize(
    ("film_all", "film_phases", "inn_all", "inn_chase", "film", "innings"),
    [
        (SAME, _phases(death_2=BETTER), SAME, BETTER, True, True),
        (SAME, _phases(), SAME, SAME, False, False),
        # A phase gain does not count when FiLM is worse overall.
        (WORSE, _phases(powerplay=BETTER), BETTER, SAME, False, False),
        # Chase gain but worse overall: no innings heads.
        (BETTER, _phases(middle_1=BETTER), WORSE, BETTER, True, False),
    ],
)
def test_stage3_branches(
    film_all: Comparison,
    film_phases: dict[str, Comparison],
    inn_all: Comparison,
    inn_chase: Comparison,
    film: bool,
    innings: bool,
) -> None:
    decision = rules.decide_stage3(film_all, film_phases, inn_all, inn_chase)
    assert decision["choice"]["use_film"] is film
    assert decision["choice"]["use_innings_heads"] is innings
    assert decision["choice"]["helps_more"] in ("FiLM", "innings heads")


def test_stage3_says_which_component_helps_more() -> None:
    small, large = cmp(0.01, 0.001, 0.02), cmp(0.05, 0.02, 0.08)
    assert rules.decide_stage3(small, _phases(), large, SAME)["choice"]["helps_more"] == (
        "innings heads"
    )
    assert rules.decide_stage3(large, _phases(), small, SAME)["choice"]["helps_more"] == "FiLM"


def test_stage4_keeps_exactly_the_components_whose_ablation_is_worse() -> None:
    decision = rules.decide_stage4(
        {"use_film": WORSE, "use_innings_heads": SAME, "use_hierarchical": BETTER}
    )
    assert decision["choice"] == {
        "use_film": True,
        "use_innings_heads": False,
        "use_hierarchical": False,
    }
    assert "significantly higher without it" in decision["summary"]


def test_stage1_picks_the_highest_val_macro_f1_and_breaks_ties_on_log_loss() -> None:
    rows = [(64, 0.20, 1.40), (128, 0.22, 1.41), (256, 0.22, 1.39)]
    assert rules.choose_best("hidden_dim", rows)["choice"] == {"hidden_dim": 256}
    assert rules.choose_best("lr", [(1e-3, 0.1, 1.5)])["choice"] == {"lr": 1e-3}
    with pytest.raises(ValueError):
        rules.choose_best("lr", [])


def test_stage1_success_criteria() -> None:
    ok = rules.stage1_criteria(0.21, [[1.6, 1.5, 1.45]])
    assert ok["val_loss_decreases"] is True and ok["macro_f1_above_0_15"] is True
    bad = rules.stage1_criteria(0.10, [[1.5, 1.6, 1.7]])
    assert bad["val_loss_decreases"] is False and bad["macro_f1_above_0_15"] is False
    assert rules.stage1_criteria(0.2, [[1.5]])["val_loss_decreases"] is None  # one epoch
