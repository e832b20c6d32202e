"""Training-service latency benchmark: prints a table, asserts nothing.

    python bench/service.py                 # embedded defaults and Postgres + Redis
    python bench/service.py --only embedded

For each configuration it starts the real API (uvicorn, one process) and measures
  * POST /v1/jobs latency (sequential submissions, API alone so nothing trains);
  * GET /v1/runs/{id} latency with 50 concurrent pollers, each polling every 0.5 s
    (a dashboard-like load), and the same pollers back-to-back (saturation);
  * submit → training process started: a real Celery worker launching torchrun,
    from the run's created_at to its launched_at (both stamped by the service).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from kombu import Connection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.__main__ import uvicorn_command, worker_command  # noqa: E402
from api.settings import Settings  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_REDIS = "redis://127.0.0.1:6379/14"
JOB = {
    "model": "base",
    "hidden_dim": 16,
    "num_layers": 1,
    "num_heads": 2,
    "batch_size": 256,
    "epochs": 1,
    "data_fraction": 0.02,
    "seeds": [42],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@contextmanager
def _process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _purge(env: dict[str, str]) -> None:
    """Drop the benchmark's queued messages so the worker starts with an empty queue."""
    settings = Settings(broker_url=env["BROKER_URL"], var_dir=Path(env["CRICKET_GNN_VAR_DIR"]))
    options = settings.celery_config()["broker_transport_options"]
    with Connection(settings.broker_url, transport_options=options) as connection:
        connection.default_channel.queue_purge("training")


def _admin_headers(env: dict[str, str]) -> dict[str, str]:
    """An admin key for the benchmark's database, made the way an operator makes the first."""
    created = subprocess.run(
        [sys.executable, "-m", "api", "keys", "create", "--scope", "admin", "--name", "bench"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}


async def _poll(
    url: str, headers: dict[str, str], run_ids: list[int], pollers: int, seconds: float,
    interval: float,
):  # fmt: skip
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=10
    ) as client:

        async def poller(index: int) -> None:
            run_id = run_ids[index % len(run_ids)]
            await asyncio.sleep(interval * index / pollers)  # spread the phases
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                started = time.perf_counter()
                response = await client.get(f"/v1/runs/{run_id}")
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))

        await asyncio.gather(*(poller(i) for i in range(pollers)))
    return latencies


def bench(kind: str, submissions: int, poll_seconds: float, trials: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    env = os.environ | {
        "CRICKET_GNN_VAR_DIR": str(workdir / "var"),
        "CRICKET_GNN_ARTIFACT_ROOT": str(workdir / "artifacts"),
        "CRICKET_GNN_WANDB_MODE": "disabled",
        "CRICKET_GNN_TRAIN_DEVICE": "cpu",
        "CRICKET_GNN_MAINTENANCE_INTERVAL_S": "1",
    }
    database = None
    if kind == "postgres":
        database = f"cricket_gnn_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        env |= {
            "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
            "BROKER_URL": BENCH_REDIS,
        }
        redis.Redis.from_url(BENCH_REDIS).flushdb()
    else:
        env |= {"DATABASE_URL": "", "BROKER_URL": "filesystem://"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        subprocess.run([sys.executable, "-m", "api", "migrate"], env=env, cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        headers = _admin_headers(env)
        with _process(uvicorn_command("127.0.0.1", port), env, workdir / "api.log"):
            _wait(url)
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                client.post("/v1/jobs", json=JOB)  # warm-up (imports, pools)
                submit = []
                run_ids = []
                for _ in range(submissions):
                    started = time.perf_counter()
                    response = client.post("/v1/jobs", json=JOB)
                    submit.append(time.perf_counter() - started)
                    run_ids.append(response.json()["runs"][0]["id"])
            paced = asyncio.run(_poll(url, headers, run_ids, 50, poll_seconds, 0.5))
            saturated = asyncio.run(_poll(url, headers, run_ids, 50, poll_seconds / 2, 0.0))
            with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                for run_id in run_ids:
                    client.post(f"/v1/runs/{run_id}/cancel")
            _purge(env)
            starts = []
            with _process(worker_command(name=f"bench-{kind}@%h"), env, workdir / "worker.log"):
                time.sleep(3)  # let the worker connect before the clock starts
                with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
                    for _ in range(trials):
                        run_id = client.post("/v1/jobs", json=JOB).json()["runs"][0]["id"]
                        run = client.get(f"/v1/runs/{run_id}").json()
                        deadline = time.monotonic() + 60
                        while not run["launched_at"] and time.monotonic() < deadline:
                            time.sleep(0.05)
                            run = client.get(f"/v1/runs/{run_id}").json()
                        launched = datetime.fromisoformat(run["launched_at"])
                        starts.append(
                            (launched - datetime.fromisoformat(run["created_at"])).total_seconds()
                        )
                        client.post(f"/v1/runs/{run_id}/cancel")
                        while client.get(f"/v1/runs/{run_id}").json()["status"] != "cancelled":
                            time.sleep(0.2)
    finally:
        if database:
            with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            redis.Redis.from_url(BENCH_REDIS).flushdb()
    return {
        "submit": submit,
        "paced": paced,
        "saturated": saturated,
        "saturated_rps": len(saturated) / (poll_seconds / 2),
        "starts": starts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["embedded", "postgres"])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["embedded", "postgres"]
    rows = []
    for kind in kinds:
        result = bench(kind, args.submissions, args.poll_seconds, args.trials)
        ms = [(name, [v * 1000 for v in result[name]]) for name in ("submit", "paced", "saturated")]
        label = "SQLite + filesystem" if kind == "embedded" else "Postgres + Redis"
        rows.append((label, ms, result["saturated_rps"], result["starts"]))
    print(f"\nService latency (cpu count {os.cpu_count()}; API = 1 uvicorn process)\n")
    header = f"{'backend':<22}{'measure':<44}{'p50':>9}{'p99':>9}{'n':>7}"
    print(header)
    print("-" * len(header))
    names = {
        "submit": "POST /v1/jobs (ms)",
        "paced": "GET /v1/runs/{id}, 50 pollers @ 2 Hz (ms)",
        "saturated": "GET /v1/runs/{id}, 50 back-to-back (ms)",
    }
    for label, ms, rps, starts in rows:
        for name, values in ms:
            print(f"{label:<22}{names[name]:<44}{statistics.median(values):>9.1f}"
                  f"{_percentile(values, 99):>9.1f}{len(values):>7}")  # fmt: skip
        print(f"{label:<22}{'  back-to-back throughput (req/s)':<44}{rps:>9.0f}")
        print(f"{label:<22}{'submit -> torchrun started (s)':<44}{statistics.median(starts):>9.2f}"
              f"{max(starts):>9.2f}{len(starts):>7}")  # fmt: skip
    print("\n(p99 column of 'submit -> torchrun started' is the maximum over the trials)")


if __name__ == "__main__":
    main()
