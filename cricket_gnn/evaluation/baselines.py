"""Reference baselines of DESIGN §5: the train class prior and gradient-boosted trees.

Both are scored on the same chronological split as the GNN, with the decision bias tuned
on val only, so their numbers sit in the same table as a trained model's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from cricket_gnn.data.dataset import CricketDataset
from cricket_gnn.evaluation.constants import NUM_CLASSES
from cricket_gnn.evaluation.decision import tune_decision_bias
from cricket_gnn.evaluation.metrics import compute_metrics
from cricket_gnn.evaluation.significance import per_sample_log_loss

BASELINES = ("class_prior", "gradient_boosting")
EVAL_SPLITS = ("val", "test")
# Share of train matches held out (whole matches) to early-stop the trees.
EARLY_STOPPING_FRACTION = 0.1


def split_rows(dataset: CricketDataset, split: str) -> np.ndarray:
    """Row indices of every target delivery of 'train', 'val' or 'test', in innings order."""
    return dataset.rows_of(dataset.split_innings(split))


def class_prior_probs(dataset: CricketDataset, split: str) -> np.ndarray:
    """The train class frequencies repeated for every target delivery of `split`: [n, 7]."""
    priors = np.asarray(dataset.fitted.class_priors, dtype=np.float64)
    return np.tile(priors, (len(split_rows(dataset, split)), 1))


def tabular_feature_names(dataset: CricketDataset) -> list[str]:
    """Column names of `tabular_features`: '<context type>[<index>]', then innings and phase."""
    names = [
        f"{context}[{index}]"
        for context in sorted(dataset.context)
        for index in range(dataset.context[context].shape[1])
    ]
    return [*names, "innings", "phase"]


def tabular_features(dataset: CricketDataset, rows: np.ndarray) -> np.ndarray:
    """Match-state features of `rows` for tree models: [len(rows), num_features] float32.

    Columns (see `tabular_feature_names`): every context type's normalised features,
    types sorted by name so the layout is stable, then the innings number (1 or 2) and the
    phase id (0..4). Vocabulary ids are left out: trees split poorly on thousands of
    player levels, and each player's career statistics already sit in the
    `*_identity` context features. The venue and team context types are constant
    placeholders (their information lives in vocabulary ids) and add nothing.
    """
    blocks = [dataset.context[name][rows] for name in sorted(dataset.context)]
    blocks.append(dataset.columns["innings"][rows, None].astype(np.float32))
    blocks.append(dataset.phase[rows, None].astype(np.float32))
    return np.concatenate(blocks, axis=1)


def _early_stopping_mask(dataset: CricketDataset, rows: np.ndarray, seed: int) -> np.ndarray:
    """True for the train rows whose match is held out to early-stop the trees."""
    matches = dataset.columns["match"][rows]
    unique = np.unique(matches)
    count = max(1, round(len(unique) * EARLY_STOPPING_FRACTION))
    held_out = np.random.default_rng(seed).choice(unique, size=count, replace=False)
    return np.isin(matches, held_out)


def fit_gradient_boosting(
    dataset: CricketDataset, seed: int = 0, max_iter: int = 300
) -> HistGradientBoostingClassifier:
    """Fit gradient-boosted trees on train rows only, early-stopped on held-out train matches."""
    rows = split_rows(dataset, "train")
    if len(rows) == 0:
        raise ValueError("the dataset has no train deliveries to fit the baseline on")
    features = tabular_features(dataset, rows)
    labels = dataset.labels[rows]
    held_out = _early_stopping_mask(dataset, rows, seed)
    model = HistGradientBoostingClassifier(
        loss="log_loss",
        learning_rate=0.1,
        max_iter=max_iter,
        max_leaf_nodes=31,
        l2_regularization=1.0,
        early_stopping=True,
        # Ignored when X_val is passed (below): the hold-out is whole train matches rather
        # than random rows, because neighbouring balls of one innings share their state.
        validation_fraction=EARLY_STOPPING_FRACTION,
        n_iter_no_change=20,
        random_state=seed,
    )
    return model.fit(
        features[~held_out],
        labels[~held_out],
        X_val=features[held_out],
        y_val=labels[held_out],
    )


def gradient_boosting_probs(
    model: HistGradientBoostingClassifier, dataset: CricketDataset, split: str
) -> np.ndarray:
    """Class probabilities [n, 7] of every target delivery of `split`."""
    return gradient_boosting_row_probs(model, dataset, split_rows(dataset, split))


def gradient_boosting_row_probs(
    model: HistGradientBoostingClassifier, dataset: CricketDataset, rows: np.ndarray
) -> np.ndarray:
    """Class probabilities [len(rows), 7] of the given dataset rows."""
    probs = model.predict_proba(tabular_features(dataset, rows))
    # A class absent from a tiny train subset has no column; give it probability 0.
    full = np.zeros((probs.shape[0], NUM_CLASSES))
    full[:, model.classes_.astype(np.int64)] = probs
    return full


def _evaluate(dataset: CricketDataset, probs_by_split: dict[str, np.ndarray]) -> dict[str, Any]:
    """Val and test metrics, with the decision bias tuned on val alone."""
    val_rows = split_rows(dataset, "val")
    bias = tune_decision_bias(dataset.labels[val_rows], probs_by_split["val"])
    out: dict[str, Any] = {"decision_bias": [float(b) for b in bias]}
    for split in EVAL_SPLITS:
        rows = split_rows(dataset, split)
        out[split] = compute_metrics(
            dataset.labels[rows],
            probs_by_split[split],
            phase=dataset.phase[rows],
            innings=dataset.columns["innings"][rows],
            decision_bias=bias,
        )
    return out


def run_baselines(
    dataset: CricketDataset, seed: int = 0, max_iter: int = 300, keep_per_sample: bool = False
) -> dict[str, Any]:
    """Metrics of both baselines on val and test (plain Python values, JSON-ready).

    With `keep_per_sample`, "test_per_sample" holds numpy arrays for a paired bootstrap
    against another model: dataset `row`, `match_id`, and each baseline's log loss.
    """
    for split in ("train", *EVAL_SPLITS):
        if len(split_rows(dataset, split)) == 0:
            raise ValueError(f"the dataset has no {split} deliveries; use more data")
    report: dict[str, Any] = {"data_version": dataset.data_version, "seed": seed}

    started = time.perf_counter()
    prior = {split: class_prior_probs(dataset, split) for split in EVAL_SPLITS}
    report["class_prior"] = {
        **_evaluate(dataset, prior),
        "fit_seconds": time.perf_counter() - started,
        "class_priors": list(dataset.fitted.class_priors),
    }

    started = time.perf_counter()
    model = fit_gradient_boosting(dataset, seed=seed, max_iter=max_iter)
    fit_seconds = time.perf_counter() - started
    trees = {split: gradient_boosting_probs(model, dataset, split) for split in EVAL_SPLITS}
    report["gradient_boosting"] = {
        **_evaluate(dataset, trees),
        "fit_seconds": fit_seconds,
        "num_iterations": int(model.n_iter_),
        "max_iter": max_iter,
        "feature_names": tabular_feature_names(dataset),
    }

    if keep_per_sample:
        rows = split_rows(dataset, "test")
        labels = dataset.labels[rows]
        report["test_per_sample"] = {
            "row": rows,
            "match_id": dataset.table.match_ids[dataset.columns["match"][rows]],
            "class_prior_log_loss": per_sample_log_loss(labels, prior["test"]),
            "gradient_boosting_log_loss": per_sample_log_loss(labels, trees["test"]),
        }
    return report
