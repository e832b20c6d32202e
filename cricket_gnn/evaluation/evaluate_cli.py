"""`cricket-gnn evaluate CHECKPOINT --data ARCHIVE [--from DATE] [--to DATE] [--output DIR]`.

Scores a checkpoint on the matches of an archive within a date range (default: the test
split), next to the class-prior and gradient-boosting baselines fitted on the same train
split, and writes report.json, report.md, reliability.png and predictions.npz.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cricket_gnn.data.archive import ArchiveNotFound, default_archive_path, default_cache_dir
from cricket_gnn.data.schema import TEST_START

EXIT_OK, EXIT_UNUSABLE = 0, 2


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the evaluate options to `parser`."""
    parser.add_argument("checkpoint", type=Path, help="a cricket-gnn checkpoint (.pt)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="Cricsheet zip or folder (default: $CRICKET_GNN_DATA or ../shared/data/...)",
    )
    parser.add_argument(
        "--from",
        dest="date_from",
        default=None,
        metavar="DATE",
        help=f"first match date scored, inclusive (default: the test split, {TEST_START})",
    )
    parser.add_argument(
        "--to",
        dest="date_to",
        default=None,
        metavar="DATE",
        help="last match date scored, inclusive (default: the archive's last match)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="report folder (default: evaluations/<checkpoint name>_<from>_<to>)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="deliveries table and fitted-baseline cache "
        "(default: $CRICKET_GNN_CACHE or ~/.cache/cricket-gnn)",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument(
        "--bootstrap-resamples", type=int, default=2000, help="resamples of the match bootstrap"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the trees")


def run_evaluate(args: argparse.Namespace) -> int:
    """Score, print the Markdown report, write the files; returns the exit status."""
    # Imported here so that `cricket-gnn --help` does not pay for torch and PyG.
    from cricket_gnn.evaluation.checkpoint_eval import EvaluationRequest, evaluate_checkpoint
    from cricket_gnn.evaluation.report import build_report, write_report
    from cricket_gnn.evaluation.report_markdown import markdown_report

    if not args.checkpoint.is_file():
        return _fail(f"checkpoint {args.checkpoint} does not exist")
    if args.bootstrap_resamples < 1:
        return _fail(f"--bootstrap-resamples must be >= 1, got {args.bootstrap_resamples}")
    request = EvaluationRequest(
        checkpoint=args.checkpoint,
        archive=args.data if args.data is not None else default_archive_path(),
        cache_dir=args.cache_dir or default_cache_dir(),
        date_from=args.date_from,
        date_to=args.date_to,
        device=args.device,
        baseline_seed=args.seed,
    )
    try:
        evaluation = evaluate_checkpoint(request, _progress)
    except (ArchiveNotFound, ValueError) as exc:
        return _fail(str(exc))
    report = build_report(evaluation, bootstrap_resamples=args.bootstrap_resamples, seed=args.seed)
    output = args.output or Path("evaluations") / (
        f"{args.checkpoint.stem}_{report['range']['from']}_{report['range']['to'] or 'end'}"
    )
    paths = write_report(evaluation, report, output)
    print("\n".join(markdown_report(report)))
    print("\nwrote " + ", ".join(str(path) for path in paths.values()))
    return EXIT_OK


def _progress(message: str) -> None:
    print(f"cricket-gnn evaluate: {message}", file=sys.stderr, flush=True)


def _fail(message: str) -> int:
    print(f"cricket-gnn evaluate: error: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def main(argv: Sequence[str] | None = None) -> int:
    """Run `evaluate`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="cricket-gnn evaluate",
        description="Score a checkpoint on an archive's matches in a date range, next to the "
        "class-prior and gradient-boosting baselines fitted on the checkpoint's train split.",
    )
    configure_parser(parser)
    return run_evaluate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
