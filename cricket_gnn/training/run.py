"""Wire a parsed train.py command to data, DDP, wandb and the Trainer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cricket_gnn.data.archive import ArchiveNotFound, default_archive_path, default_cache_dir
from cricket_gnn.data.dataset import load_dataset
from cricket_gnn.models import ModelConfig
from cricket_gnn.training import distributed
from cricket_gnn.training.cli import ProgressSink
from cricket_gnn.training.config import TrainConfig
from cricket_gnn.training.trainer import Trainer
from cricket_gnn.training.wandb_logger import WandbLogger, default_wandb_mode


def run_training(
    args: argparse.Namespace, model_config: ModelConfig, train_config: TrainConfig
) -> int:
    """Train per the parsed flags; rank 0 writes checkpoints, metrics JSON and progress."""
    info = distributed.setup(args.device)
    output_dir = Path(args.output_dir)
    sink = (
        ProgressSink(args.progress_file, show_bar=not args.no_progress_bar)
        if info.is_main
        else None
    )
    logger = None
    succeeded = False
    try:
        data_path = Path(args.data) if args.data else default_archive_path()
        # Rank 0 imports (and caches) the archive first; the others then read the cache.
        if not info.is_main:
            distributed.main_process_first(info)
        dataset = load_dataset(data_path, data_fraction=train_config.data_fraction)
        if info.is_main:
            distributed.main_process_first(info)
        if info.is_main:
            logger = WandbLogger(
                args.wandb or default_wandb_mode(),
                train_config.run_name,
                {
                    **model_config.to_dict(),
                    **train_config.to_dict(),
                    "data_version": dataset.data_version,
                    "world_size": info.world_size,
                },
                output_dir,
            )
        trainer = Trainer(
            model_config,
            train_config,
            dataset,
            info,
            output_dir,
            on_event=sink,
            wandb_logger=logger,
            cache_dir=default_cache_dir(),
        )
        result = trainer.fit(resume=Path(args.resume) if args.resume else None)
        if info.is_main:
            metrics_path = output_dir / "checkpoints" / f"metrics_{train_config.run_name}.json"
            metrics_path.write_text(json.dumps(result, indent=2, default=float))
            if logger is not None:
                logger.log_final(result["val"], result["test"])
                result["wandb_dir"] = logger.run_dir
            assert sink is not None
            sink(
                {
                    "event": "finished",
                    "val": result["val"],
                    "test": result["test"],
                    "metrics_path": str(metrics_path.resolve()),
                }
            )
            _print_summary(result, metrics_path)
        succeeded = True
        return 0
    except (ArchiveNotFound, ValueError) as exc:
        print(f"train.py: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if logger is not None:
            logger.finish()
        if sink is not None:
            sink.close()
        distributed.teardown(info, succeeded)


def _print_summary(result: dict, metrics_path: Path) -> None:
    val, test = result["val"], result["test"]
    print(
        f"run {result['run_name']} ({result['model']}), selected checkpoint: {result['selected']}"
    )
    for name, m in (("val", val), ("test", test)):
        print(
            f"  {name:4s} log loss {m['log_loss']:.4f}  Brier {m['brier']:.4f}  ECE {m['ece']:.4f}"
            f"  macro F1 {m['macro_f1']:.4f} (tuned {m.get('macro_f1_tuned', float('nan')):.4f})"
            f"  weighted F1 {m['weighted_f1']:.4f}"
        )
    print(f"  metrics: {metrics_path}")
