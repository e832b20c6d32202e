"""Numbers behind a study: per-seed metrics from saved predictions, and paired comparisons.

Every comparison A − B gives the mean over seeds of the per-seed differences, a paired
t-test over seeds, and a paired bootstrap over the split's matches: each resample draws
whole matches with replacement and scores both experiments on them, with the seeds'
predictions pooled (so the interval covers match-to-match and seed-to-seed variation in
one number). A difference is significant when that 95% interval excludes 0; "≈" means
it contains 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cricket_gnn.evaluation.confusion import per_class_scores
from cricket_gnn.evaluation.constants import NUM_CLASSES, PHASE_NAMES
from cricket_gnn.evaluation.significance import (
    _resample_counts,
    _summarise,
    mean_sd,
    paired_bootstrap_additive,
    paired_t_test,
)

SPLITS = ("val", "test")
METRICS = ("macro_f1", "weighted_f1", "log_loss")
#: Lower is better for these.
LOSS_METRICS = ("log_loss",)
Arrays = dict[str, np.ndarray]


def _group_masks() -> dict[str, Callable[[Arrays], np.ndarray]]:
    masks: dict[str, Callable[[Arrays], np.ndarray]] = {
        "all": lambda a: np.ones(len(a["labels"]), dtype=bool)
    }
    for index, name in enumerate(PHASE_NAMES):
        masks[name] = lambda a, i=index: a["phase"] == i  # type: ignore[misc]
    masks["death"] = lambda a: a["phase"] >= PHASE_NAMES.index("death_1")
    masks["innings_1"] = lambda a: a["innings"] == 1
    masks["innings_2"] = lambda a: a["innings"] == 2
    return masks


GROUP_MASKS = _group_masks()
GROUPS = tuple(GROUP_MASKS)


@dataclass(frozen=True, kw_only=True)
class SeedRun:
    """One finished training of an experiment's configuration with one seed."""

    seed: int
    predictions: str
    run_ref: str = ""
    val_log_loss_history: tuple[float, ...] = ()


class PredictionCache:
    """Loads each predictions file once per study evaluation."""

    def __init__(self) -> None:
        self._loaded: dict[str, dict[str, Arrays]] = {}

    def get(self, path: str) -> dict[str, Arrays]:
        if path not in self._loaded:
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"predictions file {path} is missing; retrain the run that wrote it"
                )
            with np.load(path) as data:
                self._loaded[path] = {
                    split: {
                        name: data[f"{split}_{name}"]
                        for name in ("probs", "labels", "match", "innings", "phase")
                    }
                    for split in SPLITS
                }
        return self._loaded[path]


def _confusions(labels: np.ndarray, predicted: np.ndarray, match_index: np.ndarray, num_matches: int) -> np.ndarray:  # fmt: skip
    """(num_matches, 7, 7) confusion counts of each match."""
    codes = (match_index * NUM_CLASSES + labels) * NUM_CLASSES + predicted
    counts = np.bincount(codes, minlength=num_matches * NUM_CLASSES**2)
    return counts.reshape(num_matches, NUM_CLASSES, NUM_CLASSES).astype(np.float64)


def _f1_scores(confusion: np.ndarray, metric: str) -> np.ndarray:
    """Macro or weighted F1 of one (7, 7) matrix or a stack (..., 7, 7)."""
    _, _, f1, support = per_class_scores(confusion)
    if metric == "macro_f1":
        return np.asarray(f1.mean(axis=-1))
    total = support.sum(axis=-1)
    return np.asarray(np.where(total > 0, (f1 * support).sum(axis=-1) / np.maximum(total, 1), 0.0))


def _log_losses(arrays: Arrays) -> np.ndarray:
    probs = np.clip(arrays["probs"].astype(np.float64), 1e-15, 1.0)
    return np.asarray(-np.log(probs[np.arange(len(arrays["labels"])), arrays["labels"]]))


def seed_metrics(arrays: Arrays, group: str) -> dict[str, float | int | None]:
    """Macro F1, weighted F1 and log loss of one run's predictions on one group."""
    mask = GROUP_MASKS[group](arrays)
    num = int(mask.sum())
    if num == 0:
        return {"n": 0, **{metric: None for metric in METRICS}}
    labels = arrays["labels"][mask]
    confusion = _confusions(labels, arrays["probs"][mask].argmax(axis=1), np.zeros_like(labels), 1)[0]  # fmt: skip
    return {
        "n": num,
        "macro_f1": float(_f1_scores(confusion, "macro_f1")),
        "weighted_f1": float(_f1_scores(confusion, "weighted_f1")),
        "log_loss": float(_log_losses(arrays)[mask].mean()),
    }


def summarise(runs: Sequence[SeedRun], cache: PredictionCache) -> dict[str, Any]:
    """{split: {group: {metric: {"mean", "sd", "values"}, "n"}}} over the seeds."""
    out: dict[str, Any] = {}
    for split in SPLITS:
        out[split] = {}
        for group in GROUPS:
            per_seed = [seed_metrics(cache.get(run.predictions)[split], group) for run in runs]
            entry: dict[str, Any] = {"n": per_seed[0]["n"] if per_seed else 0}
            for metric in METRICS:
                values = [float(m[metric]) for m in per_seed if m[metric] is not None]  # type: ignore[arg-type]
                mean, sd = mean_sd(values) if values else (None, None)
                entry[metric] = {"mean": mean, "sd": sd, "values": values}
            out[split][group] = entry
    return out


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A − B on one split, group and metric (see the module docstring)."""

    a: str
    b: str
    split: str
    group: str
    metric: str
    mean_a: float | None
    mean_b: float | None
    diff: float | None
    t_test: Mapping[str, Any] = field(default_factory=dict)
    bootstrap: Mapping[str, Any] | None = None
    alpha: float = 0.05

    @property
    def ci_contains_zero(self) -> bool:
        if self.bootstrap is None:
            return True
        return bool(self.bootstrap["ci_low"] <= 0.0 <= self.bootstrap["ci_high"])

    @property
    def verdict(self) -> str:
        """ "better" / "worse" (A vs B, for this metric's direction) or "≈" (CI contains 0)."""
        if self.bootstrap is None or self.ci_contains_zero:
            return "≈"
        higher = self.bootstrap["ci_low"] > 0.0
        if self.metric in LOSS_METRICS:
            higher = not higher
        return "better" if higher else "worse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "split": self.split,
            "group": self.group,
            "metric": self.metric,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "diff": self.diff,
            "t_test": dict(self.t_test),
            "bootstrap": None if self.bootstrap is None else dict(self.bootstrap),
            "alpha": self.alpha,
            "significant": not self.ci_contains_zero,
            "verdict": self.verdict,
        }


def _check_aligned(arrays: Sequence[Arrays], names: Sequence[str]) -> None:
    first = arrays[0]
    for other, name in zip(arrays[1:], names[1:], strict=True):
        if not (
            np.array_equal(other["labels"], first["labels"])
            and np.array_equal(other["match"], first["match"])
        ):
            raise ValueError(
                f"{name} was scored on different deliveries than {names[0]} "
                "(another data version or data fraction?); paired comparisons need the same data"
            )


def compare(
    a: tuple[str, Sequence[SeedRun]],
    b: tuple[str, Sequence[SeedRun]],
    *,
    split: str,
    group: str,
    metric: str,
    cache: PredictionCache,
    alpha: float = 0.05,
    num_resamples: int = 2000,
    bootstrap_seed: int = 0,
) -> Comparison:
    """Paired comparison of experiment a with b over their common seeds."""
    (name_a, runs_a), (name_b, runs_b) = a, b
    by_seed_b = {run.seed: run for run in runs_b}
    pairs = [(run, by_seed_b[run.seed]) for run in runs_a if run.seed in by_seed_b]
    if not pairs:
        raise ValueError(f"{name_a} and {name_b} share no seed; paired tests need common seeds")
    arrays_a = [cache.get(ra.predictions)[split] for ra, _ in pairs]
    arrays_b = [cache.get(rb.predictions)[split] for _, rb in pairs]
    _check_aligned([*arrays_a, *arrays_b], [name_a] * len(pairs) + [name_b] * len(pairs))
    values_a = [seed_metrics(x, group)[metric] for x in arrays_a]
    values_b = [seed_metrics(x, group)[metric] for x in arrays_b]
    if any(v is None for v in (*values_a, *values_b)):
        return Comparison(a=name_a, b=name_b, split=split, group=group, metric=metric,
                          mean_a=None, mean_b=None, diff=None, alpha=alpha)  # fmt: skip
    va = [float(v) for v in values_a]  # type: ignore[arg-type]
    vb = [float(v) for v in values_b]  # type: ignore[arg-type]
    boot = _bootstrap(arrays_a, arrays_b, group, metric, alpha, num_resamples, bootstrap_seed)
    return Comparison(
        a=name_a,
        b=name_b,
        split=split,
        group=group,
        metric=metric,
        mean_a=float(np.mean(va)),
        mean_b=float(np.mean(vb)),
        diff=float(np.mean(np.subtract(va, vb))),
        t_test=paired_t_test(va, vb),
        bootstrap=boot,
        alpha=alpha,
    )


def _bootstrap(
    arrays_a: Sequence[Arrays],
    arrays_b: Sequence[Arrays],
    group: str,
    metric: str,
    alpha: float,
    num_resamples: int,
    seed: int,
) -> dict[str, Any]:
    first = arrays_a[0]
    mask = GROUP_MASKS[group](first)
    _, match_index = np.unique(first["match"], return_inverse=True)
    match_index = match_index.ravel()
    if metric in LOSS_METRICS:
        loss_a = np.mean([_log_losses(x) for x in arrays_a], axis=0)[mask]
        loss_b = np.mean([_log_losses(x) for x in arrays_b], axis=0)[mask]
        return paired_bootstrap_additive(
            loss_a, loss_b, match_index[mask], num_resamples=num_resamples, seed=seed, alpha=alpha
        )
    num_matches = int(match_index.max()) + 1
    labels = first["labels"]

    def pooled(arrays: Sequence[Arrays]) -> np.ndarray:
        # Summed over seeds: a resample scores every seed's predictions on the drawn matches.
        stacked = np.stack(
            [
                _confusions(
                    labels[mask], x["probs"][mask].argmax(axis=1), match_index[mask], num_matches
                )
                for x in arrays
            ]
        )
        return stacked.sum(axis=0).reshape(num_matches, -1)

    conf_a, conf_b = pooled(arrays_a), pooled(arrays_b)
    square = (NUM_CLASSES, NUM_CLASSES)
    observed = float(
        _f1_scores(conf_a.sum(0).reshape(square), metric)
        - _f1_scores(conf_b.sum(0).reshape(square), metric)
    )
    diffs = [
        _f1_scores((counts @ conf_a).reshape(-1, *square), metric)
        - _f1_scores((counts @ conf_b).reshape(-1, *square), metric)
        for counts in _resample_counts(num_matches, num_resamples, seed)
    ]
    return _summarise(observed, np.concatenate(diffs), alpha)
