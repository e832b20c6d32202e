"""The `cricket-gnn` command line: `cricket-gnn data import PATH` and friends.

Exit status: 0 success, 1 finished but some input files were skipped, 2 unusable input
(a path that does not exist, an archive with no usable match) or bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cricket_gnn.data import (
    CLASS_NAMES,
    SCHEMA_VERSION,
    ArchiveNotFound,
    CricketDataset,
    DeliveryTable,
    build_dataset,
    load_archive,
)
from cricket_gnn.data.archive import default_cache_dir
from cricket_gnn.data.dataset import split_dates
from cricket_gnn.data.table import day_to_iso
from cricket_gnn.runtime import keep_freed_memory

EXIT_OK, EXIT_SKIPPED, EXIT_UNUSABLE = 0, 1, 2
SPLITS = ("train", "val", "test")

# Subcommands that hand every argument after their name to another module's
# `main(argv) -> int`, so their options live beside the code they configure:
# name -> ("module:function", one-line help).
DELEGATED_COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("cricket_gnn.training.cli:main", "train a model (same options as train.py)"),
    "baseline": (
        "cricket_gnn.evaluation.baseline_cli:main",
        "class-prior and gradient-boosted baselines on the same split",
    ),
    "keys": (
        "cricket_gnn.service_cli:keys_main",
        "create, list and revoke the service's API keys (runs `python -m api keys`)",
    ),
    "study": (
        "cricket_gnn.studies.cli:main",
        "run the training guide's four-stage programme locally and write its report",
    ),
    "evaluate": (
        "cricket_gnn.evaluation.evaluate_cli:main",
        "score a checkpoint on an archive's matches in a date range, with baselines",
    ),
    "compare": (
        "cricket_gnn.evaluation.compare_cli:main",
        "several evaluate outputs (seeds) vs the baseline and vs another model",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    keep_freed_memory()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in DELEGATED_COMMANDS:
        target, _ = DELEGATED_COMMANDS[args_list[0]]
        module, function = target.split(":")
        return int(getattr(importlib.import_module(module), function)(args_list[1:]))
    args = build_parser().parse_args(args_list)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (`cricket-gnn data import x | head`): not worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one registrar per command family, plus the delegated commands."""
    parser = argparse.ArgumentParser(
        prog="cricket-gnn", description="Train, compare and serve ball-outcome GNNs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMAND_REGISTRARS:
        register(commands)
    for name, (_, help_text) in DELEGATED_COMMANDS.items():
        # Listed for --help only: main() dispatches these before argparse sees them.
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _add_data_commands(commands: Any) -> None:
    data = commands.add_parser("data", help="import and inspect Cricsheet archives")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    importer = data_commands.add_parser(
        "import",
        help="import an archive and print its summary",
        description="Import a Cricsheet archive (the published zip or a folder of JSON), "
        "cache the deliveries table, and print matches, deliveries, splits, classes, the "
        "data version, unseen-player shares and every skipped file.",
    )
    importer.add_argument("path", type=Path, help="t20s_male_json.zip or a folder of <id>.json")
    importer.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where the table is cached (default: $CRICKET_GNN_CACHE or ~/.cache/cricket-gnn)",
    )
    importer.add_argument(
        "--no-cache", action="store_true", help="re-import and write no cache file"
    )
    importer.set_defaults(handler=_data_import)


# Each registrar adds one command family to the top-level subparsers and sets
# `handler=` (args -> exit status) on its leaf parsers. Add new families here.
COMMAND_REGISTRARS: tuple[Callable[[Any], None], ...] = (_add_data_commands,)


class _ProgressBar:
    """load_archive progress callback drawing a tqdm bar on stderr (when it is a terminal)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.called = False

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        self.called = True
        if self.bar is None:
            self.bar = tqdm(total=total or None, unit="file", desc="importing", disable=None)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _fail(message: str) -> int:
    print(f"cricket-gnn: error: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def _data_import(args: argparse.Namespace) -> int:
    cache_dir = args.cache_dir or default_cache_dir()
    progress = _ProgressBar()
    started = time.perf_counter()
    try:
        table = load_archive(
            args.path, cache_dir=cache_dir, progress=progress, use_cache=not args.no_cache
        )
    except ArchiveNotFound as exc:
        return _fail(str(exc))
    except ValueError as exc:  # no usable match in the archive
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot read {args.path}: {exc}")
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    dataset = build_dataset(table)
    if args.no_cache:
        source = f"imported in {seconds:.1f} s (cache off)"
    elif progress.called:
        source = f"imported in {seconds:.1f} s, cached in {cache_dir}"
    else:
        source = f"loaded from cache in {cache_dir} in {seconds:.1f} s"
    print("\n".join(import_summary(args.path, table, dataset, source)))
    if table.skipped:
        print(f"cricket-gnn: {len(table.skipped)} file(s) skipped (listed above)", file=sys.stderr)
        return EXIT_SKIPPED
    return EXIT_OK


def import_summary(
    path: Path, table: DeliveryTable, dataset: CricketDataset, source: str
) -> list[str]:
    """The lines `data import` prints: sizes, splits, classes, unseen shares, skipped files."""
    c = table.columns
    lengths = np.diff(dataset.innings_ptr)
    row_split = dataset.innings_split[dataset.columns["innings_id"]]
    unseen = (dataset.ids["striker_identity"] == 0) | (dataset.ids["bowler_identity"] == 0)
    lines = [
        f"archive        {path}",
        f"data version   {table.data_version} (schema {SCHEMA_VERSION}); {source}",
        f"matches        {table.num_matches:,} imported, {len(table.skipped):,} file(s) skipped",
        f"deliveries     {len(table):,} ({len(dataset.labels):,} targets in "
        f"{len(lengths):,} innings; {int(c['super_over'].sum()):,} super-over balls excluded)",
        "",
        f"{'split':<6} {'matches':>8} {'innings':>8} {'targets':>9}  {'first match':<11}  "
        f"{'last match':<11}  unseen striker or bowler",
    ]
    for code, (name, (first, last, matches)) in enumerate(split_dates(table).items()):
        innings = dataset.split_innings(name)
        targets = int(lengths[innings].sum())
        dates = (day_to_iso(first), day_to_iso(last)) if matches else ("-", "-")
        in_split = row_split == code
        share = (
            "- (train defines the vocabulary)"
            if code == 0
            else f"{unseen[in_split].mean():.1%} of targets"
            if in_split.any()
            else "-"
        )
        lines.append(
            f"{name:<6} {matches:>8,} {innings.size:>8,} {targets:>9,}  {dates[0]:<11}  "
            f"{dates[1]:<11}  {share}"
        )
    lines += ["", "class distribution of target deliveries"]
    lines.append(f"{'class':<7}" + "".join(f"{name:>18}" for name in SPLITS))
    counts = [
        np.bincount(dataset.labels[row_split == code], minlength=len(CLASS_NAMES))
        for code in range(len(SPLITS))
    ]
    for label, name in enumerate(CLASS_NAMES):
        cells = [f"{int(n[label]):>9,} {n[label] / max(int(n.sum()), 1):>7.1%}" for n in counts]
        lines.append(f"{name:<7}" + "".join(f"{cell:>18}" for cell in cells))
    if table.skipped:
        lines += ["", f"skipped files ({len(table.skipped)}):"]
        lines += [f"  {name}: {reason}" for name, reason in table.skipped]
    return lines
