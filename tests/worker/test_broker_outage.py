"""Jobs submitted while the broker is down run once it is back: the database remembers."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from service_harness import FINAL, TINY_JOB, Service

PORT = 6390  # a private redis-server: the machine's shared one is never stopped


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"redis://127.0.0.1:{PORT}/0"

    def start(self) -> None:
        subprocess.run(
            ["redis-server", "--port", str(PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes", "--dir", str(self.folder),
             "--pidfile", str(self.folder / "redis.pid")],
            check=True, capture_output=True,
        )  # fmt: skip
        client = redis.Redis(port=PORT)
        for _ in range(50):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        # Already down, or the shutdown closed the connection as it should.
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=PORT).shutdown(nosave=True)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_jobs_submitted_while_broker_is_down_all_run_after_it_returns(
    make_service: Callable[..., Service], private_redis: PrivateRedis
) -> None:
    service = make_service("postgres", broker_url=private_redis.url)
    service.start_worker()
    private_redis.stop()

    jobs = [service.submit({**TINY_JOB, "epochs": 1, "seeds": [seed]}) for seed in (1, 2)]
    ready = service.http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["errors"][0]["field"] == "broker"
    run_ids = [job["runs"][0]["id"] for job in jobs]
    assert {service.run(run_id)["status"] for run_id in run_ids} == {"queued"}

    private_redis.start()
    for run_id in run_ids:
        run = service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=150)
        assert run["status"] == "succeeded", service.diagnostics(run_id)
    assert service.http.get("/readyz").status_code == 200
