"""Score a checkpoint on an archive's matches in a date range, next to the baselines.

Features come from the whole archive, computed causally (career statistics from earlier
matches, context from earlier balls), normalised and looked up with the checkpoint's own
train-fitted state: scored matches see their history before the range exactly as at
training time, and nothing from a scored ball or a later match reaches an earlier ball.
The baselines are fitted on the archive's train split and tuned on its val split, the
split the checkpoint was trained and calibrated on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cricket_gnn.data.archive import load_archive
from cricket_gnn.data.dataset import CricketDataset, build_dataset
from cricket_gnn.data.schema import SCHEMA_VERSION, TEST_START, VAL_START
from cricket_gnn.data.table import day_number, day_to_iso
from cricket_gnn.evaluation.baseline_cache import cached_gradient_boosting
from cricket_gnn.evaluation.baselines import gradient_boosting_row_probs, split_rows
from cricket_gnn.evaluation.constants import NUM_CLASSES
from cricket_gnn.evaluation.decision import tune_decision_bias
from cricket_gnn.graphs import HeteroDataBuilder
from cricket_gnn.graphs.batching import pack_innings
from cricket_gnn.training.calibration import fit_temperature
from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint, sha256_of
from cricket_gnn.training.distributed import resolve_device
from cricket_gnn.training.evaluate import EVAL_BATCH_DELIVERIES

# Probability sources compared in every table, in this order.
MODEL_NAMES = ("checkpoint", "checkpoint_raw", "class_prior", "gradient_boosting")

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class EvaluationRequest:
    """What to score: a checkpoint, an archive, an inclusive date range (ISO dates)."""

    checkpoint: Path
    archive: Path
    cache_dir: Path
    date_from: str | None = None  # default: the first day of the test split
    date_to: str | None = None  # default: the last match of the archive
    device: str = "auto"
    baseline_seed: int = 0
    baseline_max_iter: int = 300


@dataclass
class ScoredDeliveries:
    """Every scored target delivery, in innings order, with each model's probabilities."""

    rows: np.ndarray  # dataset row of each delivery
    match_id: np.ndarray  # Cricsheet match id (str)
    match_date: np.ndarray  # ISO date (str)
    innings: np.ndarray  # 1 or 2
    phase: np.ndarray  # 0..4
    labels: np.ndarray
    unseen_striker: np.ndarray  # bool: striker not in the checkpoint's train vocabulary
    unseen_bowler: np.ndarray
    logits: np.ndarray  # [n, 7] the checkpoint's raw logits
    probs: dict[str, np.ndarray]  # MODEL_NAMES -> [n, 7]

    @property
    def unseen(self) -> np.ndarray:
        return self.unseen_striker | self.unseen_bowler


@dataclass
class Evaluation:
    """The scored deliveries plus everything the report says about how they were scored."""

    scored: ScoredDeliveries
    temperature: float
    temperature_source: str
    decision_bias: dict[str, list[float]]  # model name -> val-tuned bias (raw has none)
    info: dict[str, Any]


def parse_day(value: str | None, option: str) -> int | None:
    """Day number of an ISO date, with a message naming the option when it is malformed."""
    if value is None:
        return None
    try:
        return day_number(value)
    except ValueError as exc:
        raise ValueError(f"{option} must be an ISO date like 2025-01-31, got {value!r}") from exc


def scored_innings(dataset: CricketDataset, day_from: int, day_to: int | None) -> np.ndarray:
    """Innings of the dataset whose match date lies in [day_from, day_to]."""
    days = dataset.table.match_dates[dataset.innings_match]
    keep = days >= day_from
    if day_to is not None:
        keep &= days <= day_to
    return np.flatnonzero(keep)


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, dataset: CricketDataset, innings: np.ndarray, device: torch.device
) -> np.ndarray:
    """Raw logits [n, 7] of every target delivery of `innings`, in `rows_of(innings)` order."""
    model.eval()
    builder = HeteroDataBuilder(dataset)
    parts = []
    for batch in pack_innings(innings, np.diff(dataset.innings_ptr), EVAL_BATCH_DELIVERIES):
        graph = builder.build_innings(batch).to(device)
        parts.append(model(graph).float().cpu().numpy())
    if not parts:
        return np.zeros((0, NUM_CLASSES), dtype=np.float32)
    return np.concatenate(parts)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature in float64."""
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def _calibration(
    checkpoint: dict[str, Any],
    model: torch.nn.Module,
    dataset: CricketDataset,
    device: torch.device,
) -> tuple[float, np.ndarray, str]:
    """The checkpoint's val-fitted temperature and decision bias (fitted here if absent)."""
    temperature, bias = checkpoint.get("temperature"), checkpoint.get("decision_bias")
    if temperature is not None and bias is not None:
        return float(temperature), np.asarray(bias, dtype=np.float64), "checkpoint"
    val_innings = dataset.split_innings("val")
    if len(val_innings) == 0:
        return float(temperature or 1.0), np.zeros(NUM_CLASSES), "none (no val matches)"
    logits = predict_logits(model, dataset, val_innings, device)
    labels = dataset.labels[dataset.rows_of(val_innings)]
    if temperature is None:
        temperature = fit_temperature(torch.from_numpy(logits), torch.from_numpy(labels))
    bias = tune_decision_bias(labels, softmax(logits, float(temperature)))
    return float(temperature), bias, "fitted on this archive's val split (not in the checkpoint)"


def _baseline_probs(
    request: EvaluationRequest,
    table_dataset: CricketDataset,
    train_fraction: float,
    rows: np.ndarray,
    progress: Progress,
) -> tuple[dict[str, np.ndarray], dict[str, list[float]], dict[str, Any]]:
    """Class prior and trees: fitted on train, bias tuned on val, probabilities of `rows`."""
    dataset = table_dataset
    if train_fraction < 1.0:
        # The checkpoint saw this share of each split's matches (same seed as training).
        dataset = build_dataset(table_dataset.table, train_fraction, fitted=table_dataset.fitted)
    train_rows, val_rows = split_rows(dataset, "train"), split_rows(dataset, "val")
    for name, split_of in (("train", train_rows), ("val", val_rows)):
        if len(split_of) == 0:
            raise ValueError(
                f"the archive has no {name} matches (train < {VAL_START} <= val < "
                f"{TEST_START}): the baselines are fitted on train and tuned on val"
            )
    val_labels = dataset.labels[val_rows]
    counts = np.bincount(dataset.labels[train_rows], minlength=NUM_CLASSES).astype(np.float64)
    priors = counts / counts.sum()
    progress("gradient boosting: loading or fitting the cached trees")
    trees = cached_gradient_boosting(
        dataset,
        request.cache_dir,
        data_fraction=train_fraction,
        seed=request.baseline_seed,
        max_iter=request.baseline_max_iter,
    )
    val_tree_probs = gradient_boosting_row_probs(trees.model, dataset, val_rows)
    bias = {
        "class_prior": tune_decision_bias(val_labels, np.tile(priors, (len(val_rows), 1))),
        "gradient_boosting": tune_decision_bias(val_labels, val_tree_probs),
    }
    probs = {
        "class_prior": np.tile(priors, (len(rows), 1)),
        "gradient_boosting": gradient_boosting_row_probs(trees.model, table_dataset, rows),
    }
    info = {
        "train_deliveries": int(len(train_rows)),
        "val_deliveries": int(len(val_rows)),
        "train_data_fraction": train_fraction,
        "class_priors": [float(p) for p in priors],
        "gradient_boosting": {
            "from_cache": trees.from_cache,
            "cache_path": str(trees.path),
            "fit_seconds": trees.fit_seconds,
            "num_iterations": int(trees.model.n_iter_),
            "max_iter": request.baseline_max_iter,
            "seed": request.baseline_seed,
        },
    }
    return probs, {k: [float(b) for b in v] for k, v in bias.items()}, info


def evaluate_checkpoint(request: EvaluationRequest, progress: Progress) -> Evaluation:
    """Score the checkpoint and both baselines on the matches of the requested range."""
    day_from = parse_day(request.date_from, "--from")
    day_to = parse_day(request.date_to, "--to")
    day_from = day_number(TEST_START) if day_from is None else day_from
    if day_to is not None and day_to < day_from:
        raise ValueError(f"--to {request.date_to} lies before --from {day_to_iso(day_from)}")

    checkpoint = load_checkpoint(request.checkpoint)
    model, fitted = model_from_checkpoint(checkpoint)
    device = resolve_device(request.device, 0)
    model.to(device)

    started = time.perf_counter()
    progress(f"importing {request.archive}")
    table = load_archive(request.archive, cache_dir=request.cache_dir)
    progress("computing causal features over the whole archive with the checkpoint's state")
    dataset = build_dataset(table, fitted=fitted)
    innings = scored_innings(dataset, day_from, day_to)
    if len(innings) == 0:
        until = day_to_iso(day_to) if day_to is not None else "the end of the archive"
        raise ValueError(
            f"no target deliveries between {day_to_iso(day_from)} and {until} in "
            f"{request.archive} (its matches run from {day_to_iso(table.match_dates.min())} "
            f"to {day_to_iso(table.match_dates.max())})"
        )
    rows = dataset.rows_of(innings)

    progress(
        f"scoring {len(rows):,} deliveries of {len(np.unique(dataset.innings_match[innings])):,} matches"
    )
    logits = predict_logits(model, dataset, innings, device)
    assert logits.shape == (len(rows), NUM_CLASSES)
    temperature, model_bias, temperature_source = _calibration(checkpoint, model, dataset, device)

    train_fraction = float(checkpoint.get("train_config", {}).get("data_fraction", 1.0))
    baseline_probs, baseline_bias, baseline_info = _baseline_probs(
        request, dataset, train_fraction, rows, progress
    )
    match_index = dataset.columns["match"][rows]
    scored = ScoredDeliveries(
        rows=rows,
        match_id=np.asarray(table.match_ids)[match_index].astype(str),
        match_date=np.array([day_to_iso(d) for d in table.match_dates[match_index]]),
        innings=dataset.columns["innings"][rows].astype(np.int64),
        phase=dataset.phase[rows].astype(np.int64),
        labels=dataset.labels[rows],
        unseen_striker=dataset.ids["striker_identity"][rows] == 0,
        unseen_bowler=dataset.ids["bowler_identity"][rows] == 0,
        logits=logits,
        probs={
            "checkpoint": softmax(logits, temperature),
            "checkpoint_raw": softmax(logits),
            **baseline_probs,
        },
    )
    scored_days = table.match_dates[match_index]
    info = {
        "checkpoint": {
            "path": str(request.checkpoint),
            "sha256": sha256_of(request.checkpoint),
            "kind": checkpoint.get("kind"),
            "epoch": checkpoint.get("epoch"),
            "model": checkpoint["model_config"].get("model"),
            "run_name": checkpoint.get("train_config", {}).get("run_name"),
            "data_version": checkpoint.get("data_version"),
            "code_version": checkpoint.get("code_version"),
            "schema_version": checkpoint.get("schema_version"),
            "train_players": len(fitted.players),
        },
        "archive": {
            "path": str(request.archive),
            "data_version": table.data_version,
            "schema_version": SCHEMA_VERSION,
            "matches": table.num_matches,
            "skipped_files": len(table.skipped),
        },
        "split": {"train_before": VAL_START, "val_before": TEST_START},
        "range": {
            "from": day_to_iso(day_from),
            "to": day_to_iso(day_to) if day_to is not None else None,
            "matches": len(np.unique(match_index)),
            "innings": len(innings),
            "deliveries": len(rows),
            "first_match": day_to_iso(scored_days.min()),
            "last_match": day_to_iso(scored_days.max()),
        },
        "baselines": baseline_info,
        "notes": _notes(checkpoint, table.data_version, day_from),
        "seconds": time.perf_counter() - started,
    }
    return Evaluation(
        scored=scored,
        temperature=temperature,
        temperature_source=temperature_source,
        decision_bias={"checkpoint": [float(b) for b in model_bias], **baseline_bias},
        info=info,
    )


def _notes(checkpoint: dict[str, Any], data_version: str, day_from: int) -> list[str]:
    """Caveats the reader of the report needs to weigh the numbers."""
    notes = []
    if checkpoint.get("data_version") != data_version:
        notes.append(
            f"the archive (data version {data_version}) is not the one the checkpoint was "
            f"trained on ({checkpoint.get('data_version')}): its vocabularies and normalisers "
            "are the checkpoint's own; the baselines are fitted on this archive's matches "
            f"before {VAL_START}"
        )
    if checkpoint.get("schema_version") not in (None, SCHEMA_VERSION):
        notes.append(
            f"the checkpoint was written under schema {checkpoint.get('schema_version')}, "
            f"this code computes features under schema {SCHEMA_VERSION}"
        )
    if day_from < day_number(TEST_START):
        notes.append(
            f"the range starts before the test split ({TEST_START}): the checkpoint and the "
            "baselines were fitted, calibrated or selected on those matches, so their scores "
            "there are not out-of-sample"
        )
    return notes
