"""compare.trade_offs: what any decision rule could reach, read off each class's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from cricket_gnn.evaluation.compare import trade_offs


def test_best_f1_and_precision_at_recall_come_from_the_top_k_of_each_class():
    # Ten balls, two wickets (rows 0 and 1). Wicket probabilities rank rows 0, 5, 1 first:
    # top-1 P=1 R=.5 F1=.667, top-2 P=.5 R=.5, top-3 P=.667 R=1 F1=.8 (the best).
    labels = np.array([6, 6, 0, 0, 0, 4, 5, 1, 1, 0])
    probs = np.full((10, 7), 0.05)
    probs[:, 6] = [0.9, 0.7, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.1]
    # Boundaries (rows 5, 6) ranked first by P(four) + P(six): perfect precision.
    probs[[5, 6], 4] = 0.5
    result = trade_offs(labels, probs)
    assert result["best_f1"]["wicket"] == pytest.approx(0.8)
    assert result["wicket_precision_at_recall_0.1"] == pytest.approx(1.0)
    assert result["wicket_precision_at_recall_0.2"] == pytest.approx(1.0)
    assert result["boundary_precision_at_recall_0.2"] == pytest.approx(1.0)
    assert result["macro_f1_bound"] == pytest.approx(np.mean(list(result["best_f1"].values())))


def test_a_perfect_model_reaches_every_bound_and_a_constant_one_only_the_base_rate():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 500)
    perfect = trade_offs(labels, np.eye(7)[labels])
    assert perfect["macro_f1_bound"] == pytest.approx(1.0)
    constant = trade_offs(labels, np.full((500, 7), 1 / 7))
    wickets = (labels == 6).mean()
    # Ties rank in row order: the precision of a constant score is the base rate, about.
    assert constant["wicket_precision_at_recall_0.2"] == pytest.approx(wickets, abs=0.05)


def test_models_with_other_train_vocabularies_are_refused_by_name():
    from pathlib import Path

    from cricket_gnn.evaluation.compare import EvaluationRun, check_same_deliveries

    arrays = {
        "row": np.arange(4),
        "match_id": np.array(["a", "a", "b", "b"]),
        "label": np.array([0, 1, 6, 4]),
        "unseen_striker": np.array([False, True, False, False]),
        "unseen_bowler": np.zeros(4, dtype=bool),
    }
    other = dict(arrays, unseen_striker=np.array([False, False, False, True]))
    runs = [EvaluationRun(Path("one"), {}, arrays), EvaluationRun(Path("two"), {}, other)]
    with pytest.raises(ValueError, match="different train splits .unseen_striker differs"):
        check_same_deliveries(runs)
    check_same_deliveries([runs[0], EvaluationRun(Path("three"), {}, dict(arrays))])
