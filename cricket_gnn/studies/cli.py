"""`cricket-gnn study run TEMPLATE …`: the training guide's programme, locally."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cricket_gnn.studies.spec import STAGE1_GRID, TEMPLATES, StudySpec

DEFAULT_RESOURCES = Path("bench/results/train.json")


def _numbers(text: str) -> list[float | int]:
    values: list[float | int] = []
    for part in text.split(","):
        number = float(part)
        values.append(int(number) if number.is_integer() and "e" not in part.lower() else number)
    return values


def _key_values(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _coerce(value: str) -> float | int | str:
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value and "e" not in value else number


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cricket-gnn study", description=__doc__)
    commands = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = commands.add_parser("run", help="run a study template and write its report")
    run.add_argument("template", choices=TEMPLATES)
    run.add_argument("--epochs", type=int, default=100)
    run.add_argument("--data_fraction", "--data-fraction", type=float, default=1.0)
    run.add_argument("--seeds", default="42,123,456", help="comma-separated (default 42,123,456)")
    run.add_argument("--base", nargs="*", default=[], metavar="KEY=VALUE",
                     help="base config overrides, e.g. hidden_dim=64 batch_size=256")  # fmt: skip
    run.add_argument("--grid", nargs="*", default=[], metavar="NAME=V1,V2",
                     help=f"stage-1 grid overrides for {', '.join(STAGE1_GRID)}")  # fmt: skip
    run.add_argument("--stage3_from", default="hybrid", help="stage-2 winner when running stage3")
    run.add_argument("--num_resamples", type=int, default=2000)
    run.add_argument("--data", default=None, help="Cricsheet zip or folder")
    run.add_argument("--output_dir", "--output-dir", default="studies/latest")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run.add_argument("--wandb", choices=("offline", "disabled", "online"), default="disabled")
    run.add_argument("--resources", default=str(DEFAULT_RESOURCES),
                     help="bench/train.py --json output for the stage-4 resource tables")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of `cricket-gnn study`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        base = {k: _coerce(v) for k, v in _key_values(args.base, "--base").items()}
        grid = {k: _numbers(v) for k, v in _key_values(args.grid, "--grid").items()}
        spec = StudySpec.from_dict(
            {
                "template": args.template,
                "base": base,
                "seeds": [int(s) for s in args.seeds.split(",")],
                "epochs": args.epochs,
                "data_fraction": args.data_fraction,
                "grid": {**{k: list(v) for k, v in STAGE1_GRID.items()}, **grid},
                "stage3_from": args.stage3_from,
                "num_resamples": args.num_resamples,
            }
        )
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    from cricket_gnn.studies.local import StudyRunFailed, run_study

    extra = ["--device", args.device, "--wandb", args.wandb, "--no_progress_bar"]
    if args.data:
        extra += ["--data", args.data]
    output_dir = Path(args.output_dir)
    try:
        run_study(
            spec,
            output_dir=output_dir,
            extra_train_args=extra,
            resources_path=Path(args.resources),
            log=lambda line: print(line, file=sys.stderr),
        )
    except (StudyRunFailed, ValueError, FileNotFoundError) as exc:
        print(f"cricket-gnn study: error: {exc}", file=sys.stderr)
        return 2
    print((output_dir / "report.md").read_text())
    print(f"report: {output_dir / 'report.md'} (also report.json, report.csv)", file=sys.stderr)
    return 0
