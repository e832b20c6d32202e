"""The torchrun command line for one run, built from its stored configuration."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.settings import Settings

#: Hyper-parameters passed as ``--name value``, in train.py's spelling.
_VALUE_FLAGS = (
    "model",
    "hidden_dim",
    "num_layers",
    "num_heads",
    "lr",
    "dropout",
    "batch_size",
    "epochs",
    "seed",
    "weight_decay",
    "patience",
    "focal_gamma",
    "class_weights",
    "label_smoothing",
    "ema_decay",
    "recency_half_life",
    "distill_weight",
    "brier_weight",
    "data_fraction",
    "id_dropout",
    "max_time_s",
    "max_steps_per_epoch",
)
#: Switches of the ``full`` model: (config key, on flag, off flag).
_SWITCHES = (
    ("use_film", "--use_film", "--no_film"),
    ("use_hierarchical", "--use_hierarchical", "--no_hierarchical"),
    ("use_innings_heads", "--use_innings_heads", "--no_innings_heads"),
)


def train_command(
    settings: Settings,
    config: dict[str, Any],
    *,
    run_name: str,
    nproc: int,
    output_dir: Path,
    progress_file: Path,
    resume: Path | None,
    teachers: Sequence[Path] = (),
) -> list[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node N train.py …``."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(settings.trainer_script),
    ]
    for name in _VALUE_FLAGS:
        if name in config:
            command += [f"--{name}", str(config[name])]
    if config.get("model") == "full":
        for key, on, off in _SWITCHES:
            command.append(on if config.get(key, True) else off)
    command += [
        "--run_name",
        run_name,
        "--data",
        str(settings.data),
        "--device",
        settings.train_device,
        "--wandb",
        settings.wandb_mode,
        "--output_dir",
        str(output_dir),
        "--progress_file",
        str(progress_file),
        # The log is a file: a tqdm bar would fill it with carriage returns.
        "--no_progress_bar",
    ]
    for teacher in teachers:  # the checkpoints of config["teacher_runs"]
        command += ["--teacher", str(teacher)]
    if resume is not None:
        command += ["--resume", str(resume)]
    return command
