"""The worker's parts on their own: claims and fencing, event upserts, the progress tail,
the torchrun command, and stopping a process tree whose members left the session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select, update

from api.__main__ import migrate
from api.db import Checkpoint, Job, Run, RunMetric, make_engine, make_session_factory, transaction
from api.jobs.teachers import TeacherError
from api.settings import Settings, get_settings
from worker.command import train_command
from worker.processes import RUN_ID_ENV, run_processes, stop_run
from worker.progress import ProgressTail
from worker.store import LostClaimError, RunStore


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A migrated SQLite database with one queued run (id 1, attempt 1)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'worker.db'}")
    monkeypatch.setenv("CRICKET_GNN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CRICKET_GNN_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    migrate()
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'worker.db'}")
    factory = make_session_factory(engine)
    config = {"model": "base", "epochs": 3, "nproc": 1, "seed": 7}
    with transaction(factory) as session:
        job = Job(model="base", config=config, seeds=[7], run_name="t", request_hash="h")
        job.runs = [
            Run(seed=7, model="base", run_name="t-seed7", config=config, config_hash="c", nproc=1)
        ]
        session.add(job)
    yield factory
    engine.dispose()


def test_claim_is_atomic_and_for_one_attempt_only(factory) -> None:
    assert RunStore(factory, 1, 2, "w").claim() is None  # a message for another attempt
    claimed = RunStore(factory, 1, 1, "w1").claim()
    assert claimed is not None and claimed.config["seed"] == 7
    assert RunStore(factory, 1, 1, "w2").claim() is None  # a duplicate message


def test_worker_that_lost_its_claim_is_fenced_off(factory) -> None:
    store = RunStore(factory, 1, 1, "w1")
    store.claim()
    assert store.heartbeat() == "running"
    with transaction(factory) as session:  # the reaper re-queued it as attempt 2
        session.execute(update(Run).values(status="queued", attempt=2))
    with pytest.raises(LostClaimError):
        store.heartbeat()
    with pytest.raises(LostClaimError):
        store.apply_events([{"event": "epoch", "epoch": 1, "train": {}, "val": {}}])
    assert store.finish("succeeded") is False  # type: ignore[arg-type]


def test_events_upsert_one_row_per_epoch_and_per_checkpoint_kind(factory) -> None:
    store = RunStore(factory, 1, 1, "w1")
    store.claim()

    def checkpoint(kind: str, epoch: int) -> dict:
        return {"event": "checkpoint", "kind": kind, "path": f"/c/{kind}.pt", "epoch": epoch,
                "sha256": f"{epoch:064d}", "size_bytes": epoch}  # fmt: skip

    def epoch_event(epoch: int, f1: float) -> dict:
        return {"event": "epoch", "epoch": epoch, "lr": 0.1, "train": {"loss": 1.0},
                "val": {"macro_f1": f1, "log_loss": 1.5}}  # fmt: skip

    store.apply_events([
        {"event": "start", "world_size": 2, "device": "cpu", "data_version": "d", "code_version": "c",
         "epochs": 3, "steps_per_epoch": 10, "start_epoch": 0},
        {"event": "progress", "epoch": 1, "step": 3, "steps_per_epoch": 10, "samples_per_s": 5.0,
         "eta_s": 9.0, "train_loss": 2.0},
        {"event": "progress", "epoch": 1, "step": 7, "steps_per_epoch": 10, "samples_per_s": 6.0,
         "eta_s": 8.0, "train_loss": 1.9},
        epoch_event(1, 0.3), checkpoint("last", 1), checkpoint("best_macro_f1", 1),
    ])  # fmt: skip
    # A resumed attempt repeats epoch 2 and rewrites ``last``: updates, not duplicates.
    store.apply_events([epoch_event(2, 0.2), checkpoint("last", 2)])
    store.apply_events([epoch_event(2, 0.25), checkpoint("last", 2)])

    with transaction(factory) as session:
        run = session.get_one(Run, 1)
        assert (run.world_size, run.data_version, run.progress_step) == (2, "d", 10)
        assert run.samples_per_s == 6.0
        assert run.latest_metrics is not None and run.latest_metrics["val"]["macro_f1"] == 0.25
        assert run.best_metrics is not None and run.best_metrics["epoch"] == 1
        epochs = session.scalars(select(RunMetric.epoch).order_by(RunMetric.epoch)).all()
        assert epochs == [1, 2]
        rows = session.execute(select(Checkpoint.kind, Checkpoint.epoch)).all()
        assert sorted(rows) == [("best_macro_f1", 1), ("last", 2)]
        assert session.scalar(select(func.count()).select_from(Checkpoint)) == 2


def test_progress_tail_waits_for_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "progress.jsonl"
    tail = ProgressTail(path)
    assert tail.read_new() == []  # no file yet
    with path.open("a") as handle:
        handle.write('{"event": "start"}\n{"event": "pro')
        handle.flush()
        assert tail.read_new() == [{"event": "start"}]
        handle.write('gress", "step": 1}\nnot json\n')
    assert tail.read_new() == [{"event": "progress", "step": 1}]


def test_train_command_matches_train_py_flags(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path / "data.zip", wandb_mode="offline")
    config = {"model": "full", "hidden_dim": 64, "use_film": False, "use_hierarchical": True,
              "use_innings_heads": True, "seed": 3, "epochs": 5}  # fmt: skip
    command = train_command(
        settings, config, run_name="r", nproc=2, output_dir=tmp_path,
        progress_file=tmp_path / "p.jsonl", resume=tmp_path / "last.pt",
    )  # fmt: skip
    text = " ".join(command)
    assert command[:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2"]  # fmt: skip
    assert "--hidden_dim 64" in text and "--seed 3" in text and "--epochs 5" in text
    assert "--no_film" in text and "--use_hierarchical" in text
    assert f"--data {tmp_path / 'data.zip'}" in text and "--wandb offline" in text
    assert f"--resume {tmp_path / 'last.pt'}" in text
    base = train_command(settings, {"model": "base"}, run_name="r", nproc=1, output_dir=tmp_path,
                         progress_file=tmp_path / "p", resume=None)  # fmt: skip
    assert "--no_film" not in base and "--use_film" not in base and "--resume" not in base
    assert "--teacher" not in base
    student = train_command(settings, {"model": "base", "teacher_runs": [4, 9]}, run_name="r",
                            nproc=1, output_dir=tmp_path, progress_file=tmp_path / "p",
                            resume=None, teachers=[Path("/c/a.pt"), Path("/c/b.pt")])  # fmt: skip
    assert " --teacher /c/a.pt --teacher /c/b.pt" in " ".join(student)
    assert "teacher_runs" not in " ".join(student)  # run ids are the service's, not train.py's


def test_teacher_runs_resolve_to_their_best_loss_checkpoints(factory, tmp_path: Path) -> None:
    store = RunStore(factory, 1, 1, "w1")
    assert store.teacher_checkpoints([]) == []
    with pytest.raises(TeacherError, match="teacher run 1 is queued"):
        store.teacher_checkpoints([1])
    checkpoint = tmp_path / "best_loss_t-seed7.pt"
    with transaction(factory) as session:
        session.execute(update(Run).values(status="succeeded"))
        session.add(Checkpoint(run_id=1, kind="best_loss", path=str(checkpoint), sha256="0" * 64,
                               size_bytes=1))  # fmt: skip
    with pytest.raises(TeacherError, match="teacher run 1 has no best_loss checkpoint on disk"):
        store.teacher_checkpoints([1])
    checkpoint.write_bytes(b"weights")
    assert store.teacher_checkpoints([1]) == [checkpoint]
    with pytest.raises(TeacherError, match="teacher run 2 does not exist"):
        store.teacher_checkpoints([1, 2])


_FAMILY = textwrap.dedent(
    """
    import os, subprocess, sys, time
    # Like torchrun: children in sessions of their own, ignoring SIGTERM like a stuck rank.
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    for _ in range(2):
        subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(600)
    """
)


def test_stop_run_kills_every_rank_even_in_other_sessions(tmp_path: Path) -> None:
    env = os.environ | {RUN_ID_ENV: "987654"}
    root = subprocess.Popen([sys.executable, "-c", _FAMILY], env=env, start_new_session=True)
    deadline = time.monotonic() + 10
    while len(run_processes(987654)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    members = run_processes(987654)
    assert len(members) == 3

    killed = stop_run(987654, root, grace_s=1.0)

    assert killed >= 2  # the ranks ignored SIGTERM and had to be killed
    assert run_processes(987654) == []
    assert not any(psutil.pid_exists(p.pid) and p.status() != "zombie" for p in members)


def test_every_hyper_parameter_reaches_train_py_from_jobs_and_studies(tmp_path) -> None:
    """The job schema, the study schema, the studies' list and the worker's command agree."""
    from api.jobs.schemas import TrainingConfig
    from api.studies.schemas import StudyBase
    from cricket_gnn.studies.local import train_argv
    from cricket_gnn.studies.spec import HYPERPARAMETERS
    from cricket_gnn.training.cli import build_parser

    assert set(StudyBase.model_fields) == set(HYPERPARAMETERS)
    assert set(HYPERPARAMETERS) <= set(TrainingConfig.model_fields)
    job = TrainingConfig(model="full", id_dropout=0.25, max_steps_per_epoch=7, max_time_s=60)
    config = job.model_dump(exclude={"nproc"})
    command = train_command(get_settings(), config, run_name="r", nproc=1, output_dir=tmp_path,
                            progress_file=tmp_path / "p", resume=None)  # fmt: skip
    parsed = build_parser().parse_args(command[command.index("--model") :])
    # teacher_runs are run ids: the worker passes their checkpoints as --teacher.
    assert config.pop("teacher_runs") == [] and parsed.teacher == []
    for key, value in config.items():
        assert getattr(parsed, key) == value, key
    study = build_parser().parse_args(train_argv(config, seed=1, run_name="r"))
    for key in ("model", *HYPERPARAMETERS):
        assert getattr(study, key) == config[key], key
