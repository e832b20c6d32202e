"""Evaluation metrics, decision-bias tuning, distributed accumulation and significance tests."""

from cricket_gnn.evaluation.accumulate import MetricAccumulator
from cricket_gnn.evaluation.constants import (
    CLASS_NAMES,
    CLASS_RUNS,
    ECE_NUM_BINS,
    NUM_CLASSES,
    NUM_PHASES,
    PHASE_NAMES,
    PHASE_START_OVERS,
)
from cricket_gnn.evaluation.decision import predict_with_bias, tune_decision_bias
from cricket_gnn.evaluation.metrics import compute_metrics
from cricket_gnn.evaluation.significance import (
    format_mean_sd,
    mean_sd,
    paired_bootstrap,
    paired_bootstrap_additive,
    paired_t_test,
    per_sample_brier,
    per_sample_log_loss,
)

__all__ = [
    "CLASS_NAMES",
    "CLASS_RUNS",
    "ECE_NUM_BINS",
    "NUM_CLASSES",
    "NUM_PHASES",
    "PHASE_NAMES",
    "PHASE_START_OVERS",
    "MetricAccumulator",
    "compute_metrics",
    "format_mean_sd",
    "mean_sd",
    "paired_bootstrap",
    "paired_bootstrap_additive",
    "paired_t_test",
    "per_sample_brier",
    "per_sample_log_loss",
    "predict_with_bias",
    "tune_decision_bias",
]
