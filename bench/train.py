"""Training/eval throughput and memory of every variant; prints the guide's resource tables.

    python bench/train.py [--data PATH] [--steps 30] [--threads 2] [--json PATH]

With --json the measured rows are also written to PATH (the stage-4 study report reads
them for the guide's "Resource Requirements" tables; see cricket_gnn/studies/resources.py).

Each (variant, hidden_dim) runs in its own process so peak memory is its own. Throughput
is target deliveries per second of wall time on this machine; a table, never an assert.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("base", "pooling", "hybrid", "phase_modulated", "innings_conditional", "full")


def measure(variant: str, hidden: int, data: str, steps: int, threads: int) -> dict:
    """Train and eval throughput at batch 64 and 512, parameters and peak RSS."""
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import torch

    from cricket_gnn.data import HeteroDataBuilder, load_dataset
    from cricket_gnn.graphs import InningsBatcher
    from cricket_gnn.models import ModelConfig, build_model

    torch.set_num_threads(threads)
    dataset = load_dataset(data)
    fitted = dataset.fitted
    builder = HeteroDataBuilder(dataset)
    lengths = np.diff(dataset.innings_ptr)
    config = ModelConfig(
        model=variant,
        hidden_dim=hidden,
        num_layers=3,
        num_heads=4,
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
    )
    torch.manual_seed(0)
    model = build_model(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    out: dict = {
        "variant": variant,
        "hidden": hidden,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    for batch_size in (64, 512):
        batcher = InningsBatcher(
            dataset.split_innings("train"), lengths, batch_size, shuffle=True, seed=0
        )
        batches = batcher.batches()[: steps + 1]
        model.train()
        start, count = 0.0, 0
        for i, innings in enumerate(batches):
            if i == 1:  # the first step warms allocators up
                start, count = time.perf_counter(), 0
            graph = builder.build_innings(innings)
            loss = torch.nn.functional.cross_entropy(model(graph), graph["query"].y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            count += graph["query"].y.shape[0]
        out[f"train_{batch_size}"] = count / (time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            start, count = time.perf_counter(), 0
            for innings in batches[1:]:
                graph = builder.build_innings(innings)
                model(graph)
                count += graph["query"].y.shape[0]
        out[f"eval_{batch_size}"] = count / (time.perf_counter() - start)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(REPO.parent / "shared/data/t20s_male_json.zip"))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", default=None, metavar="PATH", help="also write rows as JSON")
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "HIDDEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from cricket_gnn.runtime import keep_freed_memory

        keep_freed_memory()  # as train.py does
        print(
            json.dumps(
                measure(args.worker[0], int(args.worker[1]), args.data, args.steps, args.threads)
            )
        )
        return
    rows = []
    for variant in args.variants.split(","):
        for hidden in (128, 256):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    variant,
                    str(hidden),
                    "--data",
                    args.data,
                    "--steps",
                    str(args.steps),
                    "--threads",
                    str(args.threads),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"measured {variant} hidden {hidden}", file=sys.stderr)
    print(f"\nTarget deliveries/s on this machine ({args.threads} threads), 3 layers, 4 heads\n")
    print(
        "| variant | hidden | parameters | train/s @64 | train/s @512 | eval/s @64 | "
        "eval/s @512 | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['hidden']} | {r['parameters']:,} | {r['train_64']:,.0f} | "
            f"{r['train_512']:,.0f} | {r['eval_64']:,.0f} | {r['eval_512']:,.0f} | "
            f"{r['peak_rss_mb']:,.0f} MB |"
        )
    print("\nTime per epoch at batch 64 (from the measured train throughput, hidden 128)\n")
    print("| variant | 10K deliveries | 100K deliveries | 1M deliveries |")
    print("|---|---|---|---|")
    for r in rows:
        if r["hidden"] == 128:
            cells = [_duration(n / r["train_64"]) for n in (1e4, 1e5, 1e6)]
            print(f"| {r['variant']} | " + " | ".join(cells) + " |")
    base = next((r for r in rows if r["variant"] == "base" and r["hidden"] == 128), None)
    if base is not None:
        print(
            f"\nbase, hidden 128: {base['train_64']:,.0f} train deliveries/s at batch 64 "
            f"(target >= 2,000 on 2 cores; reference 41/s per core)"
        )
    if args.json:
        _write_json(Path(args.json), rows, args)


def _write_json(path: Path, rows: list[dict], args: argparse.Namespace) -> None:
    """The rows plus where and how they were measured (read by the study report)."""
    import os
    import platform

    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {args.threads} threads, "
        "peak RSS on CPU)",
        "data": args.data,
        "steps": args.steps,
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nwrote {path}", file=sys.stderr)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    main()
