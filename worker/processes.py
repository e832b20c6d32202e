"""Launching torchrun and stopping every process of a run, ranks included.

torchrun starts each rank in its own session (DESIGN §7), so neither its process group
nor a SIGKILL of torchrun reaches them. Every process of a run therefore carries the
run id in its environment, and stopping a run means: SIGTERM to torchrun (which
forwards it to the ranks), a grace period, then SIGKILL to whatever still carries the id.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import psutil

log = logging.getLogger(__name__)

RUN_ID_ENV = "CRICKET_GNN_RUN_ID"
ATTEMPT_ENV = "CRICKET_GNN_RUN_ATTEMPT"
#: The run's folder: two services on one machine (each with its own database) both have
#: a run 1, and stopping one service's run 1 must not touch the other's.
RUN_DIR_ENV = "CRICKET_GNN_RUN_DIR"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the worker that launched us dies (SIGKILL, OOM).

    torchrun then shuts its ranks down itself, so a killed worker leaves no training
    behind to fight a resumed attempt over the same checkpoint files.
    """
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the reaper and the env-marker sweep still apply
        pass


def launch(
    command: Sequence[str], *, cwd: Path, env: dict[str, str], log_file: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start torchrun in its own session with stdout and stderr appended to ``log_file``."""
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        close_fds=True,
    )


def run_processes(run_id: int, run_dir: Path | None = None) -> list[psutil.Process]:
    """Every live process on this machine that belongs to ``run_id`` (any attempt), and
    with ``run_dir`` only those of the service whose run folder that is."""
    wanted, found = str(run_id), []
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            env = process.environ()
            if env.get(RUN_ID_ENV) == wanted and (
                run_dir is None or env.get(RUN_DIR_ENV) == str(run_dir)
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop_run(
    run_id: int,
    root: subprocess.Popen[bytes] | None,
    grace_s: float,
    *,
    run_dir: Path | None = None,
) -> int:
    """Stop every process of the run (of the service using ``run_dir``, when given);
    returns how many had to be SIGKILLed."""
    # Snapshot the tree before signalling: once torchrun exits its ranks are
    # re-parented and can only be found by their environment.
    by_pid = {p.pid: p for p in (_descendants(root.pid) if root else [])}
    by_pid.update({p.pid: p for p in run_processes(run_id, run_dir)})
    targets = list(by_pid.values())
    if not targets:
        return 0
    first = [p for p in targets if root is None or p.pid == root.pid] or targets
    for process in first:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(targets, timeout=grace_s)
    # Late-started ranks were not in the snapshot: sweep by marker once more.
    stragglers = {p.pid: p for p in alive}
    stragglers.update({p.pid: p for p in run_processes(run_id, run_dir)})
    for process in stragglers.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(list(stragglers.values()), timeout=5)
    if root is not None:
        try:
            root.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("torchrun %s did not exit after SIGKILL", root.pid)
    if stragglers:
        log.warning("run %s: killed %d process(es) after the grace period", run_id, len(stragglers))
    return len(stragglers)
