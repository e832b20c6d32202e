"""The training guide's decision rules, on val comparisons only.

"X beats Y" means the val macro-F1 difference X − Y has a paired-bootstrap 95% interval
(over val matches, seeds pooled) entirely above 0; "X ≈ Y" means the interval contains 0.
Test numbers never reach these functions: each one checks that it was given val.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cricket_gnn.studies.stats import Comparison

DECISION_METRIC = "macro_f1"
MACRO_F1_SUCCESS = 0.15


def _val_only(*comparisons: Comparison) -> None:
    for c in comparisons:
        if c.split != "val" or c.metric != DECISION_METRIC:
            raise ValueError(
                f"decisions use val {DECISION_METRIC} only, got {c.split} {c.metric} ({c.a} vs {c.b})"
            )


def beats(c: Comparison) -> bool:
    """A beats B: the difference's interval lies above 0."""
    _val_only(c)
    return c.verdict == "better"


def about_equal(c: Comparison) -> bool:
    _val_only(c)
    return c.verdict == "≈"


def choose_best(parameter: str, rows: Sequence[tuple[Any, float, float]]) -> dict[str, Any]:
    """Stage-1 tuning step: the value with the highest mean val macro F1 (ties: lower loss)."""
    if not rows:
        raise ValueError(f"no results to choose {parameter} from")
    value, f1, loss = max(rows, key=lambda row: (row[1], -row[2]))
    return {
        "rule": "highest_mean_val_macro_f1",
        "choice": {parameter: value},
        "summary": f"{parameter} = {value:g}: highest mean val macro F1 ({f1:.4f}, "
        f"val log loss {loss:.4f}) of {len(rows)} value(s) tried",
    }


def stage1_criteria(
    val_macro_f1: float, val_loss_histories: Sequence[Sequence[float]]
) -> dict[str, Any]:
    """The guide's success criteria for the chosen stage-1 configuration."""
    decreases: bool | None = None
    comparable = [h for h in val_loss_histories if len(h) >= 2]
    if comparable:
        decreases = all(min(h[1:]) < h[0] for h in comparable)
    return {
        "trains_without_errors": True,  # a failed run fails the study before this point
        "val_loss_decreases": decreases,  # None: one epoch, nothing to compare
        "macro_f1_above_0_15": val_macro_f1 > MACRO_F1_SUCCESS,
        "val_macro_f1": val_macro_f1,
    }


def decide_stage2(
    pooling_vs_base: Comparison, hybrid_vs_base: Comparison, pooling_vs_hybrid: Comparison
) -> dict[str, Any]:
    """Pooling if it beats both, Hybrid if it beats both; flag 'both ≈ base'."""
    _val_only(pooling_vs_base, hybrid_vs_base, pooling_vs_hybrid)
    pooling_wins = beats(pooling_vs_base) and pooling_vs_hybrid.verdict == "better"
    hybrid_wins = beats(hybrid_vs_base) and pooling_vs_hybrid.verdict == "worse"
    if pooling_wins:
        rule, winner = "pooling_beats_both", "pooling"
        summary = "WithPooling beats Base and Hybrid on val macro F1: Stage 3 builds on Pooling"
    elif hybrid_wins:
        rule, winner = "hybrid_beats_both", "hybrid"
        summary = "Hybrid beats Base and WithPooling on val macro F1: Stage 3 builds on Hybrid"
    elif about_equal(pooling_vs_base) and about_equal(hybrid_vs_base):
        rule, winner = "both_about_base", "hybrid"
        summary = (
            "Both WithPooling and Hybrid ≈ Base (95% intervals contain 0): investigate why "
            "the features aren't helping. Stage 3 continues from Hybrid, which its variants "
            "extend, and its comparisons are against Hybrid"
        )
    else:
        rule = "no_clear_winner"
        winner = "pooling" if (pooling_vs_hybrid.diff or 0.0) > 0 else "hybrid"
        summary = (
            f"No variant beats both others (pooling−base {pooling_vs_base.verdict}, "
            f"hybrid−base {hybrid_vs_base.verdict}, pooling−hybrid {pooling_vs_hybrid.verdict}); "
            f"the one with the higher mean val macro F1 (Hybrid on a tie), {winner}, is carried "
            "to Stage 3"
        )
    return {"rule": rule, "choice": {"variant": winner}, "summary": summary}


def decide_stage3(
    film_overall: Comparison,
    film_by_phase: Mapping[str, Comparison],
    innings_overall: Comparison,
    innings_chase: Comparison,
) -> dict[str, Any]:
    """Include FiLM if it helps in some phase, innings heads if they help in the chase.

    'Helps' = beats the stage-2 winner on that slice without being worse overall.
    """
    _val_only(film_overall, innings_overall, innings_chase, *film_by_phase.values())
    phases_helped = [phase for phase, c in film_by_phase.items() if beats(c)]
    include_film = bool(phases_helped) and film_overall.verdict != "worse"
    include_innings = beats(innings_chase) and innings_overall.verdict != "worse"
    gain_film = film_overall.diff or 0.0
    gain_innings = innings_overall.diff or 0.0
    helps_more = "FiLM" if gain_film > gain_innings else "innings heads"
    parts = [
        f"FiLM: {'include' if include_film else 'leave out'} "
        + (
            f"(beats the Stage-2 model in {', '.join(phases_helped)})"
            if phases_helped
            else "(no phase where it beats the Stage-2 model)"
        ),
        f"innings heads: {'include' if include_innings else 'leave out'} "
        f"(chase macro F1 vs the Stage-2 model: {innings_chase.verdict})",
        f"{helps_more} helps more overall (Δ val macro F1 {max(gain_film, gain_innings):+.4f})",
    ]
    return {
        "rule": "film_if_phase_gain_innings_if_chase_gain",
        "choice": {
            "use_film": include_film,
            "use_innings_heads": include_innings,
            "helps_more": helps_more,
        },
        "summary": "; ".join(parts),
    }


def decide_stage4(ablation_vs_full: Mapping[str, Comparison]) -> dict[str, Any]:
    """Keep a component when removing it (A7/A8/A9) makes val macro F1 worse than A6."""
    _val_only(*ablation_vs_full.values())
    flags = {}
    parts = []
    for component, c in ablation_vs_full.items():
        keep = c.verdict == "worse"
        flags[component] = keep
        if keep:
            effect = "val macro F1 is significantly lower without it"
        elif c.verdict == "better":
            effect = "val macro F1 is significantly higher without it"
        else:
            effect = "val macro F1 without it ≈ A6"
        parts.append(f"{component}: {'keep' if keep else 'drop'} ({effect})")
    return {
        "rule": "keep_component_if_its_ablation_is_worse",
        "choice": flags,
        "summary": "; ".join(parts),
    }
