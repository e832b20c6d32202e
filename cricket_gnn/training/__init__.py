"""Trainer, DDP plumbing, checkpoints and wandb logging."""

from cricket_gnn.training.distributed import is_main_process

__all__ = ["is_main_process"]
