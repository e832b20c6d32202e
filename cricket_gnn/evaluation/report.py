"""The evaluation report: every DESIGN §5 metric per model, unseen players, calibration,
the paired bootstrap, and the files (JSON, Markdown, reliability PNG, predictions .npz)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cricket_gnn.evaluation.checkpoint_eval import MODEL_NAMES, Evaluation, ScoredDeliveries
from cricket_gnn.evaluation.confusion import confusion_counts, scores_from_confusion
from cricket_gnn.evaluation.constants import INNINGS, PHASE_NAMES
from cricket_gnn.evaluation.decision import predict_with_bias
from cricket_gnn.evaluation.metrics import compute_metrics
from cricket_gnn.evaluation.reliability import class_calibration, plot_reliability, top_label_bins
from cricket_gnn.evaluation.report_markdown import markdown_report
from cricket_gnn.evaluation.significance import (
    paired_bootstrap_additive,
    per_sample_brier,
    per_sample_log_loss,
)

# (challenger, reference) pairs of the match-level bootstrap.
COMPARISONS = (("checkpoint", "gradient_boosting"), ("checkpoint", "class_prior"))
# Models drawn in the reliability diagram (the prior is one point per class).
PLOTTED = ("checkpoint", "checkpoint_raw", "gradient_boosting")
FILE_NAMES = {
    "json": "report.json",
    "markdown": "report.md",
    "reliability": "reliability.png",
    "predictions": "predictions.npz",
}


def model_metrics(
    scored: ScoredDeliveries, name: str, bias: list[float] | None, mask: np.ndarray | None = None
) -> dict[str, Any] | None:
    """compute_metrics of one model on (a subset of) the scored deliveries, plus tuned extras."""
    keep = np.ones(len(scored.labels), dtype=bool) if mask is None else mask
    if not keep.any():
        return None
    labels, probs = scored.labels[keep], scored.probs[name][keep]
    phase, innings = scored.phase[keep], scored.innings[keep]
    metrics = compute_metrics(labels, probs, phase=phase, innings=innings, decision_bias=bias)
    metrics["classwise_ece"] = class_calibration(labels, probs)["classwise_ece"]
    if bias is not None:
        tuned = predict_with_bias(probs, bias)
        metrics["per_class_tuned"] = scores_from_confusion(confusion_counts(labels, tuned))[
            "per_class"
        ]
        groups = {
            "per_phase": [(phase_name, phase == k) for k, phase_name in enumerate(PHASE_NAMES)],
            "per_innings": [(str(number), innings == number) for number in INNINGS],
        }
        for group, members in groups.items():
            for member, selected in members:
                metrics[group][member]["macro_f1_tuned"] = (
                    scores_from_confusion(confusion_counts(labels[selected], tuned[selected]))[
                        "macro_f1"
                    ]
                    if selected.any()
                    else None
                )
    return metrics


def build_report(
    evaluation: Evaluation, bootstrap_resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Everything the Markdown and JSON reports hold, as plain Python values."""
    scored = evaluation.scored
    biases: dict[str, list[float] | None] = {
        name: evaluation.decision_bias.get(name) for name in MODEL_NAMES
    }
    unseen = scored.unseen
    report: dict[str, Any] = {
        **evaluation.info,
        "temperature": evaluation.temperature,
        "temperature_source": evaluation.temperature_source,
        "decision_bias": evaluation.decision_bias,
        "metrics": {name: model_metrics(scored, name, biases[name]) for name in MODEL_NAMES},
        "unseen": {
            "definition": "striker or bowler not in the checkpoint's train vocabulary",
            "n": int(unseen.sum()),
            "share": float(unseen.mean()),
            "striker_unseen": int(scored.unseen_striker.sum()),
            "bowler_unseen": int(scored.unseen_bowler.sum()),
            "unseen": {n: model_metrics(scored, n, biases[n], unseen) for n in MODEL_NAMES},
            "seen": {n: model_metrics(scored, n, biases[n], ~unseen) for n in MODEL_NAMES},
        },
        "calibration": {
            name: {
                "top_label_bins": top_label_bins(scored.labels, scored.probs[name]),
                **class_calibration(scored.labels, scored.probs[name]),
            }
            for name in MODEL_NAMES
        },
    }
    report["bootstrap"] = {
        "groups": "matches",
        "num_matches": len(np.unique(scored.match_id)),
        "num_resamples": bootstrap_resamples,
        "seed": seed,
        "comparisons": {
            f"{a}_vs_{b}": {
                metric: paired_bootstrap_additive(
                    loss(scored.labels, scored.probs[a]),
                    loss(scored.labels, scored.probs[b]),
                    scored.match_id,
                    num_resamples=bootstrap_resamples,
                    seed=seed,
                )
                for metric, loss in (("log_loss", per_sample_log_loss), ("brier", per_sample_brier))
            }
            for a, b in COMPARISONS
        },
    }
    return report


def save_predictions(evaluation: Evaluation, path: Path) -> Path:
    """Per-delivery arrays (labels, groups, every model's probabilities) for re-analysis."""
    scored = evaluation.scored
    arrays: dict[str, Any] = {
        "row": scored.rows,
        "match_id": scored.match_id,
        "match_date": scored.match_date,
        "innings": scored.innings,
        "phase": scored.phase,
        "label": scored.labels,
        "unseen_striker": scored.unseen_striker,
        "unseen_bowler": scored.unseen_bowler,
        "logits": scored.logits,
        "temperature": np.float64(evaluation.temperature),
        **{f"probs_{name}": probs for name, probs in scored.probs.items()},
        **{f"decision_bias_{k}": np.asarray(v) for k, v in evaluation.decision_bias.items()},
    }
    np.savez_compressed(path, **arrays)
    return path


def write_report(
    evaluation: Evaluation, report: dict[str, Any], output_dir: Path
) -> dict[str, Path]:
    """Write report.json, report.md, reliability.png and predictions.npz into `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: output_dir / name for kind, name in FILE_NAMES.items()}
    report["files"] = {kind: str(path) for kind, path in paths.items()}
    scored = evaluation.scored
    run = report["checkpoint"].get("run_name") or Path(report["checkpoint"]["path"]).stem
    plot_reliability(
        {
            _plot_label(name, evaluation.temperature): (
                report["calibration"][name]["top_label_bins"],
                report["calibration"][name],
            )
            for name in PLOTTED
        },
        paths["reliability"],
        f"{run}: {len(scored.labels):,} deliveries, {report['range']['first_match']} to "
        f"{report['range']['last_match']} (15 equal-width bins; dot size ~ share of balls)",
    )
    save_predictions(evaluation, paths["predictions"])
    paths["markdown"].write_text("\n".join(markdown_report(report)) + "\n")
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    return paths


def _plot_label(name: str, temperature: float) -> str:
    return {
        "checkpoint": f"checkpoint (T={temperature:.3f})",
        "checkpoint_raw": "checkpoint raw (T=1)",
        "gradient_boosting": "gradient boosting",
    }[name]
