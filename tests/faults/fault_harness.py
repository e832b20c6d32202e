"""The fault tests' harness: the real service of tests/worker/service_harness.py, each on
its own Postgres database and its own redis-server, driven over HTTP with an admin key.

A private redis-server per service (on a free port, nothing saved to disk) means a test
can stop and start its broker, and lose what was queued in it, without touching the
machine's shared Redis on 6379 or another test's messages.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "worker"))
from service_harness import (  # noqa: E402
    FINAL,
    TINY_JOB,
    Service,
    _free_port,
    archive_path,
    marked_processes,
    processes_of_run,
)

__all__ = ["FINAL", "TINY_JOB", "FaultService", "PrivateRedis", "archive_path", "processes_of_run"]

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_key(database_url: str) -> tuple[dict[str, str], int | None]:
    """The one place the fault tests authenticate: a fresh admin key in the service's DB.

    Returns the headers every request of the fault tests carries (FaultService puts them
    on its client) and the key's id.
    """
    try:
        from api.auth.keys import create_api_key
    except ImportError:  # auth not in this tree: the API takes requests without a key
        return {}, None
    from api.db import make_engine, make_session_factory, transaction

    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            plaintext, row = create_api_key(session, name="fault-tests", scopes=["admin"])
            key_id = row.id
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {plaintext}"}, key_id


def create_database() -> tuple[str, str]:
    """A fresh, empty Postgres database: (name, SQLAlchemy URL)."""
    name = f"cricket_gnn_fault_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PrivateRedis:
    """A redis-server of the test's own, on a free port, keeping nothing across a stop."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server; whatever was queued in it is gone (nothing is saved)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)


class FaultService(Service):
    """The harness's Service, authenticated, with the faults the tests inject."""

    def __init__(
        self, tmp_path: Path, env: dict[str, str], *, database_url: str, broker: PrivateRedis
    ) -> None:
        super().__init__(tmp_path, env)
        self.database_url = database_url
        self.broker = broker
        self.admin_key_id: int | None = None

    def authorize(self) -> None:
        headers, self.admin_key_id = admin_key(self.database_url)
        self.http.headers.update(headers)

    def restart_api(self, how: signal.Signals) -> None:
        """Stop the API with ``how`` (SIGTERM: graceful, SIGKILL: crash), start a new one."""
        assert self.api is not None
        self.api.send_signal(how)
        self.api.wait(timeout=30)
        self.start_api()

    def kill_worker_tree(self, name: str) -> int:
        """SIGKILL the worker, its pool child, torchrun and every rank, all at once.

        Nothing gets to clean up or hand the run back: as when the machine is lost.
        Returns how many processes were killed.
        """
        worker = self.workers.pop(name)
        root = psutil.Process(worker.pid)
        tree = {p.pid: p for p in [root, *root.children(recursive=True)]}
        # torchrun and the ranks live in sessions of their own: found by their marker.
        for process in marked_processes(self.mark):
            with contextlib.suppress(psutil.Error, OSError):
                if "CRICKET_GNN_RUN_ID" in process.environ():
                    tree[process.pid] = process
        for process in tree.values():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        psutil.wait_procs(list(tree.values()), timeout=10)
        worker.wait(timeout=10)
        return len(tree)

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.get(path, **kwargs)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body
