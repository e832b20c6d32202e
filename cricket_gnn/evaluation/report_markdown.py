"""The Markdown form of an evaluation report (also what `cricket-gnn evaluate` prints)."""

from __future__ import annotations

from typing import Any

from cricket_gnn.evaluation.constants import CLASS_NAMES, INNINGS, PHASE_NAMES

TITLES = {
    "checkpoint": "checkpoint",
    "checkpoint_raw": "checkpoint, raw (T=1)",
    "class_prior": "class prior",
    "gradient_boosting": "gradient boosting",
}
# (metric key, heading); *_tuned use the val-tuned decision bias, the rest argmax.
OVERALL_COLUMNS = (
    ("log_loss", "log loss"),
    ("brier", "Brier"),
    ("ece", "ECE"),
    ("classwise_ece", "classwise ECE"),
    ("accuracy", "accuracy"),
    ("accuracy_tuned", "accuracy tuned"),
    ("macro_f1", "macro F1"),
    ("macro_f1_tuned", "macro F1 tuned"),
    ("weighted_f1", "weighted F1"),
    ("weighted_f1_tuned", "weighted F1 tuned"),
    ("wicket_recall", "wicket recall"),
    ("wicket_recall_tuned", "wicket recall tuned"),
    ("boundary_precision", "boundary precision"),
    ("boundary_precision_tuned", "boundary precision tuned"),
    ("expected_runs_mae", "expected-runs MAE"),
)
SUBSET_COLUMNS = (
    ("log_loss", "log loss"),
    ("brier", "Brier"),
    ("ece", "ECE"),
    ("accuracy", "accuracy"),
    ("macro_f1", "macro F1"),
    ("macro_f1_tuned", "macro F1 tuned"),
    ("wicket_recall_tuned", "wicket recall tuned"),
)
PER_CLASS_MODELS = ("checkpoint", "gradient_boosting")  # argmax is unchanged by T; prior = dot


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _title(name: str, report: dict[str, Any]) -> str:
    if name == "checkpoint":
        return f"checkpoint (T={report['temperature']:.3f})"
    return TITLES[name]


def _metric_rows(
    report: dict[str, Any], metrics: dict[str, Any], columns: tuple[tuple[str, str], ...]
) -> list[list[str]]:
    rows = []
    for name, values in metrics.items():
        cells = (
            ["-"] * len(columns) if values is None else [_cell(values.get(k)) for k, _ in columns]
        )
        rows.append([_title(name, report), *cells])
    return rows


def _header_lines(report: dict[str, Any]) -> list[str]:
    ckpt, archive, scope = report["checkpoint"], report["archive"], report["range"]
    until = scope["to"] or "end of archive"
    lines = [
        f"# Evaluation of {ckpt['path']}",
        "",
        f"- checkpoint: model `{ckpt['model']}`, run `{ckpt['run_name']}`, kind "
        f"`{ckpt['kind']}`, epoch {ckpt['epoch']}, trained on data version "
        f"`{ckpt['data_version']}`, code `{ckpt['code_version']}`",
        f"- temperature {report['temperature']:.4f} ({report['temperature_source']}); "
        "decision rule: per-class bias tuned on val",
        f"- archive: {archive['path']} (data version `{archive['data_version']}`, "
        f"{archive['matches']:,} matches)",
        f"- scored: {scope['from']} to {until}: {scope['matches']:,} matches, "
        f"{scope['innings']:,} innings, {scope['deliveries']:,} deliveries "
        f"(first {scope['first_match']}, last {scope['last_match']})",
        f"- split: train < {report['split']['train_before']} <= val < "
        f"{report['split']['val_before']} <= test; baselines fitted on train "
        f"({report['baselines']['train_deliveries']:,} deliveries), tuned on val "
        f"({report['baselines']['val_deliveries']:,})",
    ]
    lines += [f"- note: {note}" for note in report["notes"]]
    return lines


def _per_class_lines(report: dict[str, Any]) -> list[str]:
    header = ["class", "support"]
    for name in PER_CLASS_MODELS:
        short = "ckpt" if name == "checkpoint" else "trees"
        header += [f"{short} {m}" for m in ("P", "R", "F1", "P tuned", "R tuned", "F1 tuned")]
    rows = []
    for class_name in CLASS_NAMES:
        support = report["metrics"]["checkpoint"]["per_class"][class_name]["support"]
        row = [class_name, _cell(support)]
        for name in PER_CLASS_MODELS:
            metrics = report["metrics"][name]
            for key in ("per_class", "per_class_tuned"):
                scores = metrics[key][class_name]
                row += [_cell(scores[s]) for s in ("precision", "recall", "f1")]
        rows.append(row)
    return table(header, rows)


def _group_lines(report: dict[str, Any], group: str, members: list[str]) -> list[str]:
    # The raw checkpoint is left out: T changes no argmax, and its log loss is overall above.
    names = [name for name in report["metrics"] if name != "checkpoint_raw"]
    header = [
        "",
        "n",
        *(f"{TITLES[n]} {m}" for n in names for m in ("macro F1", "tuned", "log loss")),
    ]
    rows = []
    for member in members:
        first = report["metrics"][names[0]][group][member]
        row = [member, _cell(first["n"])]
        for name in names:
            values = report["metrics"][name][group][member]
            row += [_cell(values.get(k)) for k in ("macro_f1", "macro_f1_tuned", "log_loss")]
        rows.append(row)
    return table(header, rows)


def _calibration_lines(report: dict[str, Any]) -> list[str]:
    names = list(report["calibration"])
    header = ["class", "observed", *(f"{TITLES[n]} mean p / ECE" for n in names)]
    rows = []
    for class_name in CLASS_NAMES:
        observed = report["calibration"][names[0]]["per_class"][class_name]["observed"]
        row = [class_name, _cell(observed)]
        for name in names:
            entry = report["calibration"][name]["per_class"][class_name]
            row.append(f"{entry['mean_predicted']:.4f} / {entry['ece']:.4f}")
        rows.append(row)
    rows.append(
        [
            "mean (classwise ECE)",
            "",
            *(_cell(report["calibration"][n]["classwise_ece"]) for n in names),
        ]
    )
    return table(header, rows)


def _bootstrap_lines(report: dict[str, Any]) -> list[str]:
    boot = report["bootstrap"]
    rows = []
    for comparison, metrics in boot["comparisons"].items():
        first, second = comparison.split("_vs_")
        for metric, result in metrics.items():
            rows.append(
                [
                    f"{TITLES[first]} − {TITLES[second]}",
                    metric,
                    f"{result['diff']:+.4f}",
                    f"[{result['ci_low']:+.4f}, {result['ci_high']:+.4f}]",
                    f"{result['p_value']:.4f}",
                    "yes" if result["significant"] else "no",
                ]
            )
    header = ["comparison", "metric", "difference", "95% CI", "p", "significant"]
    note = (
        f"Paired bootstrap over {boot['num_matches']:,} matches ({boot['num_resamples']:,} "
        "resamples); a negative difference means the first model is better."
    )
    return [note, "", *table(header, rows)]


def markdown_report(report: dict[str, Any]) -> list[str]:
    """The report as Markdown lines."""
    unseen = report["unseen"]
    trees = report["baselines"]["gradient_boosting"]
    source = (
        "loaded from cache" if trees["from_cache"] else f"fitted in {trees['fit_seconds']:.1f} s"
    )
    header = ["model", *(title for _, title in OVERALL_COLUMNS)]
    subset_header = ["model", *(title for _, title in SUBSET_COLUMNS)]
    lines = [
        *_header_lines(report),
        "",
        f"## All {report['range']['deliveries']:,} scored deliveries",
        "",
        *table(header, _metric_rows(report, report["metrics"], OVERALL_COLUMNS)),
        "",
        "## Per class: precision / recall / F1 (argmax and val-tuned rule)",
        "",
        *_per_class_lines(report),
        "",
        "## Per phase",
        "",
        *_group_lines(report, "per_phase", list(PHASE_NAMES)),
        "",
        "## Per innings (1 = batting first, 2 = chase)",
        "",
        *_group_lines(report, "per_innings", [str(i) for i in INNINGS]),
        "",
        f"## Striker or bowler unseen in the checkpoint's train vocabulary: "
        f"{unseen['n']:,} deliveries ({unseen['share']:.1%}; striker {unseen['striker_unseen']:,}, "
        f"bowler {unseen['bowler_unseen']:,})",
        "",
        *table(subset_header, _metric_rows(report, unseen["unseen"], SUBSET_COLUMNS)),
        "",
        "Both seen:",
        "",
        *table(subset_header, _metric_rows(report, unseen["seen"], SUBSET_COLUMNS)),
        "",
        "## Calibration, one-vs-rest per class (15 equal-width bins)",
        "",
        *_calibration_lines(report),
        "",
        f"Reliability diagram: {report.get('files', {}).get('reliability', 'reliability.png')}",
        "",
        "## Paired bootstrap over matches",
        "",
        *_bootstrap_lines(report),
        "",
        f"Gradient boosting: {trees['num_iterations']} of at most {trees['max_iter']} rounds, "
        f"{source} ({trees['cache_path']}).",
    ]
    return lines
