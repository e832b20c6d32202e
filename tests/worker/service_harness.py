"""End-to-end harness: a real uvicorn API and real Celery workers running the real
train.py under torchrun, on Postgres + Redis or on the embedded SQLite + filesystem broker.

Every process a test starts carries a marker in its environment (torchrun and the
ranks inherit it), so teardown can prove — and enforce — that nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from api.settings import PROJECT_ROOT

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SHARED_REDIS = "redis://127.0.0.1:6379/15"
TEST_MARK_ENV = "CRICKET_GNN_TEST_MARK"
#: The issue's tiny training: a couple of seconds of training after ~8 s of start-up.
TINY_JOB: dict[str, Any] = {
    "model": "base",
    "hidden_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "batch_size": 256,
    "epochs": 2,
    "data_fraction": 0.02,
}
FINAL = ("succeeded", "failed", "cancelled")


def archive_path() -> Path:
    override = os.environ.get("CRICKET_GNN_DATA")
    return Path(override) if override else PROJECT_ROOT.parent / "shared/data/t20s_male_json.zip"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def marked_processes(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``mark`` (services, torchrun, ranks)."""
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get(TEST_MARK_ENV) == mark:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def processes_of_run(run_id: int, mark: str) -> list[psutil.Process]:
    return [
        p for p in marked_processes(mark) if _environ(p).get("CRICKET_GNN_RUN_ID") == str(run_id)
    ]


def _environ(process: psutil.Process) -> dict[str, str]:
    try:
        return process.environ()
    except (psutil.Error, OSError):
        return {}


class Service:
    """API + workers as subprocesses of the test, configured through the environment."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.mark = uuid.uuid4().hex
        self.tmp_path = tmp_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        defaults = {
            TEST_MARK_ENV: self.mark,
            "CRICKET_GNN_VAR_DIR": str(tmp_path / "var"),
            "CRICKET_GNN_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
            "CRICKET_GNN_DATA": str(archive_path()),
            "CRICKET_GNN_WANDB_MODE": "disabled",
            "CRICKET_GNN_TRAIN_DEVICE": "cpu",
            "CRICKET_GNN_HEARTBEAT_INTERVAL_S": "1",
            "CRICKET_GNN_HEARTBEAT_TIMEOUT_S": "10",
            "CRICKET_GNN_MAINTENANCE_INTERVAL_S": "1",
            "CRICKET_GNN_STOP_GRACE_S": "5",
            "PYTHONUNBUFFERED": "1",
        }
        self.env = os.environ | defaults | env
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("ab")
        return subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def migrate(self) -> None:
        """Create the schema, then give the harness's client an admin key of this database."""
        subprocess.run(
            [sys.executable, "-m", "api", "migrate"], cwd=PROJECT_ROOT, env=self.env,
            check=True, capture_output=True,
        )  # fmt: skip
        self.http.headers["Authorization"] = f"Bearer {self.create_key('admin', name='e2e')}"

    def create_key(self, *scopes: str, name: str) -> str:
        """A new API key in the service's database (as `cricket-gnn keys create` makes one)."""
        from api.auth.keys import create_api_key
        from api.db import make_engine, make_session_factory, transaction

        url = self.env.get("DATABASE_URL") or f"sqlite:///{self.tmp_path / 'var/cricket_gnn.db'}"
        engine = make_engine(url)
        try:
            with transaction(make_session_factory(engine)) as session:
                plaintext, _ = create_api_key(session, name=name, scopes=list(scopes))
        finally:
            engine.dispose()
        return plaintext

    def start_api(self) -> None:
        from api.__main__ import uvicorn_command

        self.api = self._spawn("api", uvicorn_command("127.0.0.1", self.port))
        self.wait(lambda: self._healthy(), timeout=30, what="the API to answer /healthz")

    def _healthy(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, name: str = "w1") -> subprocess.Popen[bytes]:
        from api.__main__ import worker_command

        worker = self._spawn(f"worker-{name}", worker_command(name=f"{name}-{self.mark[:6]}@%h"))
        self.workers[name] = worker
        log = self.tmp_path / f"worker-{name}.log"
        self.wait(lambda: b" ready." in log.read_bytes(), timeout=30, what=f"worker {name}")
        return worker

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker and its pool child, as a lost machine or the OOM killer would."""
        worker = self.workers.pop(name)
        tree = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children()]
        for process in tree:
            process.kill()
        worker.wait(timeout=10)

    def submit(self, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        response = self.http.post("/v1/jobs", json=body, **kwargs)
        assert response.status_code == 202, response.text
        job: dict[str, Any] = response.json()
        return job

    def run(self, run_id: int) -> dict[str, Any]:
        response = self.http.get(f"/v1/runs/{run_id}")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run

    def wait_run(
        self, run_id: int, until: Callable[[dict[str, Any]], bool], timeout: float = 90
    ) -> dict[str, Any]:
        """Poll the run over HTTP until ``until(run)``; fail with the logs if it never does."""
        deadline = time.monotonic() + timeout
        run = self.run(run_id)
        while not until(run):
            if time.monotonic() > deadline:
                pytest.fail(f"run {run_id} stuck: {run}\n{self.diagnostics(run_id)}")
            time.sleep(0.3)
            run = self.run(run_id)
        return run

    def wait(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.diagnostics()}")
            time.sleep(0.2)

    def diagnostics(self, run_id: int | None = None) -> str:
        paths = sorted(self.tmp_path.glob("*.log"))
        if run_id is not None:
            paths.append(self.tmp_path / "artifacts" / "runs" / str(run_id) / "train.log")
        parts = []
        for path in paths:
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-40:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop everything started, then kill whatever still carries this service's mark."""
        self.http.close()
        for worker in self.workers.values():
            if worker.poll() is None:
                worker.send_signal(signal.SIGQUIT)
        if self.api is not None and self.api.poll() is None:
            self.api.terminate()
        for process in [*self.workers.values(), *([self.api] if self.api else [])]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        leftovers = marked_processes(self.mark)
        for process in leftovers:
            process.kill()
        psutil.wait_procs(leftovers, timeout=5)
