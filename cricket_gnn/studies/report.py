"""A study's report as JSON, Markdown and CSV, from `StudyProgress.to_dict()`.

Plain Python on plain dicts: the service renders stored studies without numpy.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cricket_gnn.studies.resources import load_resources

STAGE_TITLES = {
    "stage1": "Stage 1 — base model: tune hidden_dim, then num_layers, then lr",
    "stage2": "Stage 2 — parallel comparison: WithPooling vs Hybrid",
    "stage3": "Stage 3 — advanced features: FiLM and innings heads",
    "stage4": "Stage 4 — full model and ablations (A1–A9)",
}
FORMATS = ("json", "markdown", "csv")


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values, in the order given (None stays None).

    The i-th smallest of m p-values becomes max over j ≤ i of min(1, (m − j + 1) · p_j):
    rejecting where the adjusted p < alpha keeps the chance of any false "significant" in
    the family at alpha or less.
    """
    ranked = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(ranked):
        running = max(running, min(1.0, (len(ranked) - rank) * p))
        adjusted[i] = running
    return adjusted


def with_holm(comparisons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The comparisons with `holm_p`: each bootstrap p adjusted within its family, the
    comparisons on the same split and metric (a stage tests several variants, and stage
    4 eight ablations, against one reference; one of them crossing p < 0.05 by chance
    alone is likely)."""
    out = [dict(c) for c in comparisons]
    families: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(out):
        families.setdefault((c["split"], c["metric"]), []).append(i)
    for members in families.values():
        p_values = [(out[i].get("bootstrap") or {}).get("p_value") for i in members]
        for i, adjusted in zip(members, holm(p_values), strict=True):
            out[i]["holm_p"] = adjusted
    return out


def build_report(
    progress: Mapping[str, Any], *, header: Mapping[str, Any], resources: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The JSON report: header (id, status, …), the progress, resource tables if measured.

    Each stage's comparisons gain `holm_p` (see `with_holm`)."""
    stages = {
        name: {**stage, "comparisons": with_holm(stage.get("comparisons", []))}
        for name, stage in progress.get("stages", {}).items()
    }
    return {**header, **progress, "stages": stages, "resources": resources}


def make_report(
    progress: Mapping[str, Any], header: Mapping[str, Any], resources_path: Path | None
) -> dict[str, Any]:
    """The report of a study's progress, with the resource tables when they were measured."""
    resources = load_resources(resources_path) if resources_path else None
    return build_report(progress, header=header, resources=resources)


def _ms(entry: Mapping[str, Any] | None, digits: int = 4) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    sd = entry.get("sd") or 0.0
    return f"{entry['mean']:.{digits}f} ± {sd:.{digits}f}"


def _metric(summary: Mapping[str, Any], split: str, group: str, metric: str) -> str:
    return _ms(summary.get(split, {}).get(group, {}).get(metric))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _p(value: Any) -> str:
    return "–" if value is None else f"{value:.3g}"


def _comparison_rows(comparisons: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for c in comparisons:
        boot = c.get("bootstrap") or {}
        ci = f"[{boot['ci_low']:+.4f}, {boot['ci_high']:+.4f}]" if boot else "–"
        t_test = c.get("t_test") or {}
        t_p = _p(t_test.get("p_value")) if t_test.get("p_value") is not None else (
            t_test.get("note") and "n/a" or "–"
        )  # fmt: skip
        diff = "–" if c.get("diff") is None else f"{c['diff']:+.4f}"
        group = "" if c["group"] == "all" else f" ({c['group']})"
        rows.append(
            [
                f"{c['a']} − {c['b']}",
                c["split"],
                c["metric"] + group,
                diff,
                t_p,
                ci,
                _p(c.get("holm_p")),
                "yes" if c.get("significant") else "no (≈)",
            ]
        )
    return rows


COMPARISON_HEADERS = (
    "Comparison",
    "Split",
    "Metric",
    "Δ (mean over seeds)",
    "paired t-test p",
    "bootstrap 95% CI (matches)",
    "Holm p",
    "significant",
)


def _labels(stage: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {e["name"]: e for e in stage["experiments"]}


def _decisions(stage: Mapping[str, Any]) -> list[str]:
    lines = []
    for d in stage.get("decisions", []):
        lines.append(f"- **Decision ({d['step']}, rule `{d['rule']}`, on {d['metric']}):** "
                     f"{d['summary']}")  # fmt: skip
    return lines


def _stage1(stage: Mapping[str, Any]) -> list[str]:
    rows = []
    seen = set()
    for e in stage["experiments"]:
        summary = stage["summaries"].get(e["name"])
        if summary is None or e["name"] in seen:
            continue
        seen.add(e["name"])
        cfg = e["config"]
        name = e["name"] + (f" (= {e['reused_from']})" if e.get("reused_from") else "")
        rows.append([name, cfg["hidden_dim"], cfg["num_layers"], f"{cfg['lr']:g}",
                     _metric(summary, "val", "all", "macro_f1"),
                     _metric(summary, "val", "all", "log_loss"),
                     _metric(summary, "test", "all", "macro_f1"),
                     _metric(summary, "test", "all", "log_loss"),
                     ", ".join(summary.get("runs", []))])  # fmt: skip
    lines = _table(("Experiment", "hidden_dim", "num_layers", "lr", "Val macro F1",
                    "Val log loss", "Test macro F1", "Test log loss", "Runs"), rows)  # fmt: skip
    lines += ["", *_decisions(stage)]
    final = next((d for d in stage.get("decisions", []) if d["step"] == "stage1"), None)
    if final:
        lines += ["", "```python",
                  _python_dict("best_config_stage1", final["choice"]["best_config_stage1"]),
                  "```", "", "Success criteria (chosen configuration):"]  # fmt: skip
        for name, value in final.get("success_criteria", {}).items():
            shown = "not assessable (one epoch)" if value is None else value
            lines.append(f"- {name}: {shown}")
    return lines


def _stage2(stage: Mapping[str, Any]) -> list[str]:
    labels = _labels(stage)
    lines: list[str] = []
    for split in ("test", "val"):
        rows = [
            [labels[name]["label"], _metric(s, split, "all", "macro_f1"),
             _metric(s, split, "all", "weighted_f1"), labels[name]["notes"]]
            for name, s in stage["summaries"].items()
        ]  # fmt: skip
        note = "reported" if split == "test" else "used for the decision"
        lines += [f"**{split}** ({note}):", "",
                  *_table(("Variant", "Macro F1", "Weighted F1", "Notes"), rows), ""]  # fmt: skip
    return lines


def _stage3(stage: Mapping[str, Any]) -> list[str]:
    labels = _labels(stage)
    lines: list[str] = []
    for split in ("test", "val"):
        rows = [
            [labels[name]["label"], *(_metric(s, split, g, "macro_f1")
             for g in ("all", "powerplay", "death", "innings_1", "innings_2"))]
            for name, s in stage["summaries"].items()
        ]  # fmt: skip
        note = "reported" if split == "test" else "used for the decision"
        lines += [f"**{split}** ({note}):", "",
                  *_table(("Variant", "Macro F1", "Powerplay F1", "Death F1", "Inn 1 F1",
                           "Inn 2 F1"), rows), ""]  # fmt: skip
    phases = ("powerplay", "middle_1", "middle_2", "death_1", "death_2")
    rows = [
        [labels[name]["label"], *(_metric(s, "test", g, "macro_f1") for g in phases)]
        for name, s in stage["summaries"].items()
    ]
    lines += ["Per-phase test macro F1:", "", *_table(("Variant", *phases), rows), ""]
    return lines


def _stage4(stage: Mapping[str, Any]) -> list[str]:
    labels = _labels(stage)
    vs_full = {
        c["a"]: c
        for c in stage.get("comparisons", [])
        if c["b"] == "A6" and c["split"] == "test" and c["metric"] == "macro_f1"
    }
    rows = []
    for name, s in stage["summaries"].items():
        c = vs_full.get(name)
        # The comparison row without its first three cells (names, split, metric).
        cells = (
            _comparison_rows([c])[0][3:]
            if c
            else ["(reference)"] + [""] * (len(COMPARISON_HEADERS) - 4)
        )
        rows.append([name, labels[name]["label"], _metric(s, "val", "all", "macro_f1"),
                     _metric(s, "test", "all", "macro_f1"), _metric(s, "test", "all", "log_loss"),
                     *cells])  # fmt: skip
    return _table(("Experiment", "Variant", "Val macro F1", "Test macro F1", "Test log loss",
                   "Δ test macro F1 vs A6", "t-test p", "bootstrap 95% CI", "Holm p",
                   "significant"),
                  rows) + [""]  # fmt: skip


def _resources(resources: Mapping[str, Any] | None) -> list[str]:
    lines = ["### Resource requirements (measured by `bench/train.py --json`)", ""]
    if not resources:
        return [*lines, "Not measured: run `python bench/train.py --json PATH` and point the "
                "study at PATH (CLI `--resources`, service `CRICKET_GNN_STUDY_RESOURCES`).", ""]  # fmt: skip
    lines += [f"Measured {resources.get('measured_at', '?')} on {resources.get('machine', '?')}, "
              f"data {resources.get('data', '?')}.", "", "Peak memory (RSS):", ""]  # fmt: skip
    memory = resources.get("memory", {})
    lines += _table(("Variant", "hidden_dim=128", "hidden_dim=256"),
                    [[v, *(f"{memory[v].get(h, 0):,.0f} MB" if h in memory[v] else "–"
                           for h in ("128", "256"))] for v in memory])  # fmt: skip
    times = resources.get("epoch_time_s", {})
    variants = list(times)
    sizes = ("10K", "100K", "1M")
    lines += ["", "Time per epoch (batch_size=64, hidden 128, from measured throughput):", ""]
    lines += _table(("Dataset size", *variants),
                    [[size, *(_duration(times[v].get(size)) for v in variants)]
                     for size in sizes])  # fmt: skip
    return [*lines, ""]


def _python_literal(value: Any) -> str:
    # Double-quoted strings, as ruff and black write them: a report pasted into a
    # repository's docs passes `ruff format --check` (which formats Markdown's code blocks).
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _python_dict(name: str, values: Mapping[str, Any]) -> str:
    body = "".join(
        f"    {_python_literal(key)}: {_python_literal(value)},\n" for key, value in values.items()
    )
    return f"{name} = {{\n{body}}}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The guide's tables, filled, with every comparison and decision."""
    spec = report["spec"]
    lines = [
        f"# Study {report.get('id', '')} — {spec['template']}"
        + (f" ({report['name']})" if report.get("name") else ""),
        "",
        f"Status: **{report.get('status', 'done' if report['done'] else 'running')}**"
        + (f", current stage {report['stage']}" if report.get("stage") else ""),
        f"Seeds {spec['seeds']}, {spec['epochs']} epoch(s), data fraction {spec['data_fraction']}.",
        "",
        "Numbers are mean ± sd over seeds. Decisions use **val macro F1** (argmax) only; val log "
        "loss is reported beside it and test numbers are reported, never used to choose. "
        "A − B is significant when its paired-bootstrap 95% interval over matches (seeds "
        "pooled, "
        f"{spec['num_resamples']} resamples) excludes 0; '≈' means it contains 0. The paired "
        "t-test is over seeds (needs ≥ 2 seeds). Holm p is the bootstrap p adjusted "
        "(Holm–Bonferroni) over the stage's comparisons on the same split and metric: when "
        "several variants are tested against one reference, read a difference as real only "
        "where Holm p < 0.05.",
        "",
    ]
    stages = report.get("stages", {})
    for name, title in STAGE_TITLES.items():
        if name not in stages:
            continue
        stage = stages[name]
        lines += [f"## {title}", ""]
        if not stage.get("summaries"):
            lines += ["Waiting for runs.", ""]
            continue
        if name == "stage1":
            lines += _stage1(stage)
        else:
            lines += {"stage2": _stage2, "stage3": _stage3, "stage4": _stage4}[name](stage)
            if stage.get("comparisons"):
                lines += ["Comparisons:", "",
                          *_table(COMPARISON_HEADERS, _comparison_rows(stage["comparisons"])),
                          ""]  # fmt: skip
            lines += _decisions(stage)
        lines.append("")
        if name == "stage4":
            lines += _resources(report.get("resources"))
    if report.get("final_config"):
        stage4: Mapping[str, Any] = next(
            (d for d in report.get("decisions", []) if d["step"] == "stage4"), {}
        )
        trained = stage4.get("trained_as")
        lines += ["## Final production configuration", "", "```python",
                  _python_dict("final_config", report["final_config"]), "```", "",
                  f"Trained in this study as {trained}." if trained else
                  "This combination was not one of A1–A9: train it before promoting.", ""]  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


CSV_FIELDS = ("kind", "stage", "name", "label", "split", "group", "metric", "mean", "sd",
              "n_seeds", "diff", "t_p", "ci_low", "ci_high", "bootstrap_p", "holm_p",
              "significant", "verdict")  # fmt: skip


def render_csv(report: Mapping[str, Any]) -> str:
    """Long format: one row per (experiment, split, group, metric) and per comparison."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for stage_name, stage in report.get("stages", {}).items():
        labels = _labels(stage)
        for name, summary in stage.get("summaries", {}).items():
            for split in ("val", "test"):
                for group, metrics in summary.get(split, {}).items():
                    for metric in ("macro_f1", "weighted_f1", "log_loss"):
                        entry = metrics.get(metric) or {}
                        writer.writerow({"kind": "experiment", "stage": stage_name, "name": name,
                                         "label": labels[name]["label"], "split": split,
                                         "group": group, "metric": metric,
                                         "mean": entry.get("mean"), "sd": entry.get("sd"),
                                         "n_seeds": len(entry.get("values", []))})  # fmt: skip
        for c in stage.get("comparisons", []):
            boot = c.get("bootstrap") or {}
            writer.writerow({"kind": "comparison", "stage": stage_name,
                             "name": f"{c['a']} - {c['b']}", "split": c["split"],
                             "group": c["group"], "metric": c["metric"], "diff": c.get("diff"),
                             "t_p": (c.get("t_test") or {}).get("p_value"),
                             "ci_low": boot.get("ci_low"), "ci_high": boot.get("ci_high"),
                             "bootstrap_p": boot.get("p_value"), "holm_p": c.get("holm_p"),
                             "significant": c.get("significant"), "verdict": c.get("verdict")})  # fmt: skip
    return out.getvalue()


def render(report: Mapping[str, Any], fmt: str) -> str:
    """The report in `fmt` (json, markdown or csv)."""
    if fmt == "json":
        return json.dumps(report, indent=2, default=str)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "csv":
        return render_csv(report)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
