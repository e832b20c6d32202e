"""Trainer behaviour a researcher relies on: resume, torchrun/DDP, wandb offline logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cricket_gnn.training.checkpoint import load_checkpoint, model_from_checkpoint
from cricket_gnn.training.distributed import DistInfo
from cricket_gnn.training.evaluate import evaluate_split
from cricket_gnn.training.trainer import Trainer
from tests.training.tiny_run import TINY_MODEL, straight_and_resumed
from tests.training.tiny_run import tiny_train_config as _train_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("ema_decay", [0.0, 0.9], ids=["weights", "weight-average"])
def test_resume_gives_the_same_model_as_an_uninterrupted_run(
    small_dataset, tmp_path, one_thread, ema_decay
):
    config = _train_config(ema_decay=ema_decay)
    a, b, _ = straight_and_resumed(config, small_dataset, tmp_path)
    assert a["epoch"] == b["epoch"] == 2
    for name, tensor in a["model_state"].items():
        torch.testing.assert_close(b["model_state"][name], tensor, rtol=0, atol=0, msg=name)
    assert a["metrics"]["test"]["log_loss"] == b["metrics"]["test"]["log_loss"]


def test_the_weight_average_is_what_is_validated_saved_and_scored(small_dataset, tmp_path):
    trainer = Trainer(TINY_MODEL, _train_config(ema_decay=0.9), small_dataset, DistInfo(), tmp_path)
    trainer.fit()
    final = load_checkpoint(tmp_path / "checkpoints" / "final_tiny.pt")
    last = load_checkpoint(tmp_path / "checkpoints" / "last_tiny.pt")
    # `last` resumes training from the weights and carries their average beside them.
    average = last["weight_average"]["model_state"]
    assert last["weight_average"]["updates"] == 8  # 2 epochs x 4 steps
    assert any(not torch.equal(average[k], v) for k, v in last["model_state"].items())
    for name, tensor in final["model_state"].items():
        torch.testing.assert_close(average[name], tensor, rtol=0, atol=0, msg=name)
    model, _ = model_from_checkpoint(final)
    bias = np.asarray(final["decision_bias"])
    scored = evaluate_split(model, small_dataset, "test", DistInfo(), final["temperature"], bias)
    assert scored["log_loss"] == pytest.approx(final["metrics"]["test"]["log_loss"], abs=1e-6)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "OMP_NUM_THREADS": "1",
        "CRICKET_GNN_CACHE": str(cwd / "cache"),
    }
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


TRAIN_FLAGS = [
    "--model",
    "base",
    "--hidden_dim",
    "16",
    "--num_layers",
    "2",
    "--num_heads",
    "2",
    "--epochs",
    "1",
    "--batch_size",
    "512",
    "--max_steps_per_epoch",
    "4",
    "--data_fraction",
    "0.02",
    "--no_progress_bar",
]


def test_torchrun_two_ranks_on_cpu_matches_single_process_evaluation(small_dataset, tmp_path):
    from tiny_data import archive

    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(REPO / "train.py"),
        *TRAIN_FLAGS,
        "--data",
        str(archive()),
        "--run_name",
        "ddp",
        "--device",
        "cpu",
        "--progress_file",
        str(tmp_path / "progress.jsonl"),
    ]
    done = _run(cmd, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in (tmp_path / "progress.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[0]["world_size"] == 2
    assert events[-1]["event"] == "finished"
    # Only rank 0 reports: one epoch event, not two.
    assert sum(e["event"] == "epoch" for e in events) == 1
    metrics = json.loads((tmp_path / "checkpoints" / "metrics_ddp.json").read_text())

    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "best_loss_ddp.pt")
    model, fitted = model_from_checkpoint(checkpoint)
    assert fitted == small_dataset.fitted
    bias = np.asarray(checkpoint["decision_bias"])
    single = evaluate_split(
        model, small_dataset, "test", DistInfo(), checkpoint["temperature"], bias
    )
    ddp = metrics["checkpoints"]["best_loss"]["test"]
    assert (
        single["n"]
        == ddp["n"]
        == int(len(small_dataset.rows_of(small_dataset.split_innings("test"))))
    )
    for key in ("log_loss", "brier", "ece", "accuracy", "macro_f1", "macro_f1_tuned"):
        assert single[key] == pytest.approx(ddp[key], abs=1e-6), key


def test_train_py_writes_checkpoints_metrics_and_an_offline_wandb_run(tmp_path):
    from tiny_data import archive

    cmd = [
        sys.executable,
        str(REPO / "train.py"),
        *TRAIN_FLAGS,
        "--data",
        str(archive()),
        "--run_name",
        "solo",
        "--wandb",
        "offline",
    ]
    done = _run(cmd, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "test log loss" in done.stdout
    for name in ("best_solo.pt", "best_loss_solo.pt", "final_solo.pt", "last_solo.pt"):
        assert (tmp_path / "checkpoints" / name).exists(), name
    checkpoint = torch.load(tmp_path / "checkpoints" / "best_solo.pt", weights_only=True)
    assert checkpoint["model_config"]["hidden_dim"] == 16
    assert checkpoint["data_version"] and checkpoint["fitted"]["players"]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    # An offline run keeps its records in run-<id>.wandb (protobuf, keys stored as text).
    records = next(runs[0].glob("run-*.wandb")).read_bytes()
    for key in (b"train/loss", b"val/log_loss", b"val/macro_f1", b"test/log_loss", b"solo"):
        assert key in records, key


def test_bad_flags_get_one_clear_line(tmp_path):
    done = _run(
        [sys.executable, str(REPO / "train.py"), "--hidden_dim", "100", "--num_heads", "3"],
        tmp_path,
    )
    assert done.returncode == 2
    assert "num_heads (3) must divide hidden_dim (100)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failing_rank_ends_the_whole_torchrun_job_instead_of_hanging(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(REPO / "train.py"),
        *TRAIN_FLAGS,
        "--data",
        str(tmp_path / "missing.zip"),
        "--run_name",
        "broken",
        "--device",
        "cpu",
    ]
    done = _run(cmd, tmp_path)
    assert done.returncode != 0
    assert "no such archive or folder" in done.stderr


def test_time_budget_stops_before_an_epoch_that_would_not_fit(small_dataset, tmp_path):
    # A budget far shorter than one epoch: the first epoch still runs (a run must leave a
    # model), and no second epoch is started.
    trainer = Trainer(
        TINY_MODEL, _train_config(epochs=5, max_time_s=1e-3), small_dataset, DistInfo(), tmp_path
    )
    result = trainer.fit()
    assert [row["epoch"] for row in result["history"]] == [1]
    assert 0.0 < result["test"]["log_loss"] < 10.0
