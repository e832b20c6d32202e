"""`python train.py …` / `cricket-gnn train …` with every flag of the training guide."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cricket_gnn.models.config import MODEL_NAMES
from cricket_gnn.runtime import keep_freed_memory


def _flag(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Accept both the guide's --hidden_dim and the DDP section's --hidden-dim."""
    names = [f"--{name}"]
    if "_" in name:
        names.append(f"--{name.replace('_', '-')}")
    parser.add_argument(*names, dest=name, **kwargs)


def _switch(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    """--use_X / --no_X pair (default on), as the guide writes them."""
    group = parser.add_mutually_exclusive_group()
    for spelling in (f"--use_{name}", f"--use-{name}"):
        group.add_argument(
            spelling,
            dest=f"use_{name}",
            action="store_true",
            default=True,
            help=help_text if spelling.startswith("--use_") else argparse.SUPPRESS,
        )
    for spelling in (f"--no_{name}", f"--no-{name}"):
        group.add_argument(
            spelling,
            dest=f"use_{name}",
            action="store_false",
            help=argparse.SUPPRESS if spelling.startswith("--no-") else None,
        )


def build_parser() -> argparse.ArgumentParser:
    """The train.py argument parser."""
    from cricket_gnn.training.wandb_logger import WANDB_MODES

    p = argparse.ArgumentParser(prog="train.py", description="Train a CricketHeteroGNN variant.")
    _flag(p, "model", choices=MODEL_NAMES, default="base")
    _flag(p, "hidden_dim", type=int, default=128)
    _flag(p, "num_layers", type=int, default=3)
    _flag(p, "num_heads", type=int, default=4)
    _flag(p, "dropout", type=float, default=0.1)
    _flag(
        p,
        "id_dropout",
        type=float,
        default=0.0,
        help="training-time chance of hiding a player/venue/team id (trains the cold-start path)",
    )
    _flag(p, "lr", type=float, default=1e-3)
    _flag(p, "weight_decay", type=float, default=0.01)
    _flag(
        p,
        "batch_size",
        type=int,
        default=64,
        help="target deliveries per batch (whole innings are packed up to about this)",
    )
    _flag(p, "epochs", type=int, default=100)
    _flag(p, "patience", type=int, default=10)
    _flag(p, "seed", type=int, default=42)
    _flag(p, "run_name", default=None, help="default: <model>_<timestamp>")
    _flag(p, "focal_gamma", type=float, default=0.0)
    _flag(p, "class_weights", choices=("none", "sqrt", "balanced"), default="none")
    _flag(p, "label_smoothing", type=float, default=0.0)
    _flag(
        p,
        "ema_decay",
        type=float,
        default=0.0,
        help="validate, select and save an exponential moving average of the weights "
        "with this decay per step (e.g. 0.998; 0 = the weights themselves)",
    )
    _flag(
        p,
        "recency_half_life",
        type=float,
        default=0.0,
        help="weight the loss of older training matches down, halving every this many "
        "days back from the newest (e.g. 730; 0 = equal weights)",
    )
    _flag(
        p,
        "teacher",
        action="append",
        default=[],
        help="distil from this checkpoint (repeat for an ensemble; same archive and split): "
        "the loss also pulls towards the teachers' averaged probabilities",
    )
    _flag(
        p,
        "distill_weight",
        type=float,
        default=0.8,
        help="share of the loss given to the teachers' probabilities (with --teacher)",
    )
    _flag(
        p,
        "brier_weight",
        type=float,
        default=0.0,
        help="add this multiple of the Brier score (squared error of the probabilities) "
        "to the loss (0 = cross-entropy alone)",
    )
    _flag(
        p,
        "select_metric",
        choices=("log_loss", "macro_f1"),
        default="log_loss",
        help="val metric for early stopping and the reported model",
    )
    _flag(p, "max_steps_per_epoch", type=int, default=0)
    _flag(
        p,
        "max_time_s",
        type=float,
        default=0.0,
        help="stop before an epoch that would end past this many seconds (0 = no limit)",
    )
    _switch(p, "film", "FiLM phase modulation (model=full)")
    _switch(p, "hierarchical", "career+team player embeddings (model=full)")
    _switch(p, "innings_heads", "separate first-innings and chase heads (model=full)")
    _flag(p, "data", default=None, help="Cricsheet zip or folder (default: ../shared/data/…)")
    _flag(p, "data_fraction", type=float, default=1.0, help="share of whole matches per split")
    _flag(p, "device", choices=("auto", "cpu", "cuda"), default="auto")
    _flag(p, "wandb", choices=WANDB_MODES, default=None, help="default: $WANDB_MODE or offline")
    _flag(p, "output_dir", default=".", help="checkpoints go to OUTPUT_DIR/checkpoints/")
    _flag(p, "progress_file", default=None, help="append progress events as JSON lines")
    _flag(p, "resume", default=None, help="continue from a last_<run>.pt checkpoint")
    _flag(p, "no_progress_bar", action="store_true")
    return p


class ProgressSink:
    """Rank 0's reporter: JSON lines for the service, a tqdm bar for the console."""

    def __init__(self, path: str | None, show_bar: bool) -> None:
        self.file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115
        self.show_bar = show_bar
        self.bar: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(json.dumps(event, default=float) + "\n")
            self.file.flush()
        if not self.show_bar:
            return
        kind = event["event"]
        if kind == "progress":
            if self.bar is None or self.bar.desc != f"epoch {event['epoch']}":
                from tqdm import tqdm

                if self.bar is not None:
                    self.bar.close()
                self.bar = tqdm(
                    total=event["steps_per_epoch"],
                    desc=f"epoch {event['epoch']}",
                    unit="batch",
                    file=sys.stderr,
                    leave=False,
                )
            self.bar.n = event["step"]
            self.bar.set_postfix(
                loss=f"{event['train_loss']:.4f}",
                del_s=f"{event['samples_per_s'] or 0:.0f}",
                refresh=True,
            )
        elif kind == "epoch":
            val = event["val"]
            print(
                f"epoch {event['epoch']}: train loss {event['train']['loss']:.4f}  "
                f"val log loss {val['log_loss']:.4f}  val macro F1 {val['macro_f1']:.4f}",
                file=sys.stderr,
            )

    def close(self) -> None:
        """Flush and close."""
        if self.bar is not None:
            self.bar.close()
        if self.file is not None:
            self.file.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of train.py and `cricket-gnn train`."""
    args = build_parser().parse_args(argv)
    keep_freed_memory()
    from cricket_gnn.models import ModelConfig
    from cricket_gnn.training.config import TrainConfig

    run_name = args.run_name or f"{args.model}_{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        for teacher in args.teacher:  # before minutes of data loading, not after
            if not Path(teacher).is_file():
                raise ValueError(f"--teacher {teacher}: no such checkpoint file")
        model_config = ModelConfig(
            model=args.model,
            hidden_dim=args.hidden_dim,
            num_layers=args.num_layers,
            num_heads=args.num_heads,
            dropout=args.dropout,
            id_dropout=args.id_dropout,
            use_film=args.use_film,
            use_hierarchical=args.use_hierarchical,
            use_innings_heads=args.use_innings_heads,
        )
        train_config = TrainConfig(
            run_name=run_name,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            weight_decay=args.weight_decay,
            patience=args.patience,
            select_metric=args.select_metric,
            focal_gamma=args.focal_gamma,
            class_weights=args.class_weights,
            label_smoothing=args.label_smoothing,
            ema_decay=args.ema_decay,
            recency_half_life=args.recency_half_life,
            teachers=tuple(args.teacher),
            distill_weight=args.distill_weight,
            brier_weight=args.brier_weight,
            data_fraction=args.data_fraction,
            max_steps_per_epoch=args.max_steps_per_epoch,
            max_time_s=args.max_time_s,
        )
    except ValueError as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    from cricket_gnn.training.run import run_training

    return run_training(args, model_config, train_config)
