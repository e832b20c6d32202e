"""`cricket-gnn compare EVAL_DIR... [--against EVAL_DIR...] [--output DIR]`.

Reads folders written by `cricket-gnn evaluate` (one per seed of a model), prints the
mean ± sd of every headline metric, issue 8's targets met or not, and the paired match
bootstrap of the seed-averaged loss against the gradient-boosted baseline and, with
--against, against another model's seeds. Runs no model: seconds, not minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_UNUSABLE = 0, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run `compare`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="cricket-gnn compare",
        description="Summarise several `cricket-gnn evaluate` outputs of one model (its seeds) "
        "against the gradient-boosted baseline and, optionally, another model's outputs.",
    )
    parser.add_argument("evaluations", nargs="+", type=Path, help="evaluate output folders")
    parser.add_argument(
        "--against", nargs="+", type=Path, default=[], help="another model's output folders"
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="also write comparison.json and .md here"
    )
    parser.add_argument("--bootstrap-resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    args = parser.parse_args(argv)
    from cricket_gnn.evaluation.compare import compare, load_evaluation, markdown_comparison

    if args.bootstrap_resamples < 1:
        return _fail(f"--bootstrap-resamples must be >= 1, got {args.bootstrap_resamples}")
    try:
        runs = [load_evaluation(folder) for folder in args.evaluations]
        against = [load_evaluation(folder) for folder in args.against]
        result = compare(runs, against, num_resamples=args.bootstrap_resamples, seed=args.seed)
    except ValueError as exc:
        return _fail(str(exc))
    lines = markdown_comparison(result)
    print("\n".join(lines))
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "comparison.md").write_text("\n".join(lines) + "\n")
        (args.output / "comparison.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.output / 'comparison.md'}, {args.output / 'comparison.json'}")
    return EXIT_OK


def _fail(message: str) -> int:
    print(f"cricket-gnn compare: error: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
