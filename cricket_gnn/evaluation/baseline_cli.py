"""`cricket-gnn baseline`: score the class-prior and gradient-boosting baselines.

Usable standalone too: `python -m cricket_gnn.evaluation.baseline_cli [options]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cricket_gnn.data.archive import ArchiveNotFound, default_archive_path
from cricket_gnn.data.dataset import load_dataset
from cricket_gnn.evaluation.baselines import BASELINES, EVAL_SPLITS, run_baselines

EXIT_OK, EXIT_UNUSABLE = 0, 2
BASELINE_TITLES = {"class_prior": "class prior", "gradient_boosting": "gradient boosting"}
# (metric key in compute_metrics' dict, column heading); *_tuned use the val-tuned bias.
TABLE_COLUMNS = (
    ("log_loss", "log loss"),
    ("brier", "Brier"),
    ("ece", "ECE"),
    ("accuracy", "accuracy"),
    ("macro_f1", "macro F1"),
    ("macro_f1_tuned", "macro F1 (val-tuned rule)"),
    ("weighted_f1", "weighted F1"),
    ("wicket_recall_tuned", "wicket recall (tuned)"),
    ("boundary_precision_tuned", "boundary precision (tuned)"),
)


def add_baseline_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `baseline` on a top-level subparsers object; its handler returns the status."""
    parser = subparsers.add_parser(
        "baseline",
        help="score the class-prior and gradient-boosting baselines",
        description="Fit the reference baselines on train, tune each one's decision bias on "
        "val, and print val/test metrics as a Markdown table.",
    )
    configure_parser(parser)
    return parser


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the baseline options and handler to `parser`."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="Cricsheet zip or folder (default: $CRICKET_GNN_DATA or ../shared/data/...)",
    )
    parser.add_argument(
        "--data_fraction", type=float, default=1.0, help="share of matches of each split to use"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the tree model")
    parser.add_argument(
        "--max_iter",
        type=int,
        default=300,
        help="most boosting rounds (early stopping may stop sooner)",
    )
    parser.add_argument("--output", type=Path, default=None, help="write every metric here as JSON")
    parser.set_defaults(handler=run_baseline_command)


def run_baseline_command(args: argparse.Namespace) -> int:
    """Load the data, run both baselines, print the table and write the JSON."""
    path = args.data if args.data is not None else default_archive_path()
    try:
        dataset = load_dataset(path, data_fraction=args.data_fraction)
        report = run_baselines(dataset, seed=args.seed, max_iter=args.max_iter)
    except (ArchiveNotFound, ValueError) as exc:
        print(f"cricket-gnn baseline: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    report["data"] = str(path)
    report["data_fraction"] = args.data_fraction
    print("\n".join(markdown_table(report)))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
        print(f"\nwrote {args.output}")
    return EXIT_OK


def markdown_table(report: dict[str, Any]) -> list[str]:
    """Lines of a Markdown table: one row per baseline and split, then the fit times."""
    header = ["baseline", "split", *(title for _, title in TABLE_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in BASELINES:
        for split in EVAL_SPLITS:
            metrics = report[name][split]
            cells = [_format(metrics.get(key)) for key, _ in TABLE_COLUMNS]
            lines.append(f"| {BASELINE_TITLES[name]} | {split} | " + " | ".join(cells) + " |")
    trees = report["gradient_boosting"]
    lines += [
        "",
        f"data version {report['data_version']}; val/test deliveries "
        f"{report['class_prior']['val']['n']:,}/{report['class_prior']['test']['n']:,}; "
        f"gradient boosting fitted in {trees['fit_seconds']:.1f} s "
        f"({trees['num_iterations']} of at most {trees['max_iter']} rounds)",
    ]
    return lines


def _format(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def _json_default(value: Any) -> Any:
    # Per-sample arrays (run_baselines(keep_per_sample=True)) and numpy scalars.
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def main(argv: Sequence[str] | None = None) -> int:
    """Run `baseline` on its own; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="cricket-gnn baseline", description="Score the reference baselines."
    )
    configure_parser(parser)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
