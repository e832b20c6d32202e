"""Two services on one machine (each with its own database) both have a run 1: a worker
stopping its run 1 must not kill the other service's run 1.

Found by running these fault tests beside another service's tests: a worker claiming
its run 1 swept "every process with CRICKET_GNN_RUN_ID=1" and SIGTERMed the other
service's training, which then failed with "torchrun exited with code 1".
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from worker.processes import RUN_DIR_ENV, RUN_ID_ENV, run_processes, stop_run

RUN_ID = 987_655


def test_stopping_a_run_spares_the_same_run_id_of_another_service(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours" / "runs" / "1", tmp_path / "theirs" / "runs" / "1"
    sleepers = {
        folder: subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"],
            env=os.environ | {RUN_ID_ENV: str(RUN_ID), RUN_DIR_ENV: str(folder)},
        )
        for folder in (ours, theirs)
    }
    try:
        deadline = time.monotonic() + 30
        while len(run_processes(RUN_ID)) < 2:  # both started, with their environment
            assert time.monotonic() < deadline, "the stand-in trainings did not start"
            time.sleep(0.05)
        stop_run(RUN_ID, None, grace_s=5.0, run_dir=ours)
        ours_left = run_processes(RUN_ID, ours)
        theirs_left = run_processes(RUN_ID, theirs)
        print(
            f"\nsame run id in two services: ours left={len(ours_left)} "
            f"theirs left={len(theirs_left)} (of 1 each)"
        )
        assert ours_left == []
        assert [p.pid for p in theirs_left] == [sleepers[theirs].pid]
    finally:
        for process in sleepers.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(process.pid).kill()
            process.wait(timeout=10)
