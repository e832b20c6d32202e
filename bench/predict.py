"""Prediction-service latency benchmark: prints a table, asserts nothing.

    python bench/predict.py                    # random-weight model, default size
    python bench/predict.py --checkpoint PATH  # a trained checkpoint instead

Starts the real API (uvicorn, one process, embedded SQLite) with the real archive as
its history, registers and promotes a model, then measures over HTTP:
  * single POST /v1/predict (30-ball innings) p50/p99 at concurrency 1 and 16;
  * POST /v1/predict/batch predictions per second (256 states a request);
  * live session next-ball GET /v1/matches/{id}/prediction p50/p99 at innings ball 100
    (each session has 99 deliveries, the 100th is appended, then the prediction read);
  * failed requests while 10 promotions happen under 16 concurrent clients;
and in-process, for the same inputs: Predictor.predict (parse + features + forward),
the forward alone (Predictor.predict_prepared on a parsed state), the live next-ball
prediction at ball 100, and the HTTP/in-process ratio; each with eager PyTorch and with
the model's graphs exported to onnxruntime (as the API serves). The 1-minute load
average is printed with the table: on a shared 2-core box, compare numbers from one run
only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.__main__ import uvicorn_command  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _make_checkpoint(path: Path, archive: Path) -> list[str]:
    """A randomly initialised default-size 'full' model fitted on 2% of the archive."""
    import torch

    from cricket_gnn.data.dataset import load_dataset
    from cricket_gnn.models import ModelConfig, build_model
    from cricket_gnn.training.checkpoint import save_checkpoint

    dataset = load_dataset(archive, data_fraction=0.02)
    fitted = dataset.fitted
    config = ModelConfig(
        model="full",
        num_players=fitted.num_players,
        num_venues=fitted.num_venues,
        num_teams=fitted.num_teams,
    )
    torch.manual_seed(0)
    save_checkpoint(
        path,
        {
            "model_config": config.to_dict(),
            "fitted": fitted.to_dict(),
            "model_state": build_model(config).eval().state_dict(),
            "temperature": 1.0,
            "data_version": dataset.data_version,
            "code_version": "bench",
        },
    )
    return list(fitted.players[:4])


def _register(env: dict[str, str], checkpoint: Path, copies: int) -> tuple[list[int], str | None]:
    """Rows for a finished run with `copies` checkpoint kinds (distinct files), and an
    admin API key (None where the API has no keys)."""
    from api.db import Checkpoint, Job, Run, make_engine, make_session_factory, transaction
    from api.models.artifacts import sha256_of
    from api.settings import Settings

    settings = Settings(var_dir=Path(env["CRICKET_GNN_VAR_DIR"]), database_url="")
    settings = settings.model_copy(update={"artifact_root": Path(env["CRICKET_GNN_ARTIFACT_ROOT"])})
    engine = make_engine(settings.effective_database_url)
    run_ids = []
    with transaction(make_session_factory(engine)) as session:
        for copy in range(copies):
            job = Job(model="full", config={}, seeds=[0], run_name="bench", request_hash="0")
            session.add(job)
            session.flush()
            run = Run(job_id=job.id, seed=0, model="full", run_name="bench", config={},
                      config_hash="0")  # fmt: skip
            session.add(run)
            session.flush()
            target = settings.run_dir(run.id) / "best_loss_bench.pt"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkpoint, target)
            with target.open("ab") as handle:  # distinct bytes, same weights
                handle.write(b"\0" * copy)
            session.add(Checkpoint(run_id=run.id, kind="best_loss", path=str(target),
                                   sha256=sha256_of(target), size_bytes=target.stat().st_size))  # fmt: skip
            run_ids.append(run.id)
        key = None
        try:
            from api.auth.keys import create_api_key
        except ImportError:
            pass
        else:
            key, _ = create_api_key(session, name="bench", scopes=["admin"])
    engine.dispose()
    return run_ids, key


def _body(players: list[str], balls: int) -> dict[str, Any]:
    striker, non_striker, bowler = players[:3]
    deliveries = [
        {
            "over": i // 6,
            "batter": striker,
            "non_striker": non_striker,
            "bowler": bowler,
            "runs": {"batter": i % 3, "extras": 0, "total": i % 3},
        }
        for i in range(balls)
    ]
    return {
        "context": {"venue": "Eden Gardens", "batting_team": "India", "bowling_team": "England"},
        "deliveries": deliveries,
        "next_ball": {"striker": striker, "non_striker": non_striker, "bowler": bowler},
    }


HEADERS: dict[str, str] = {}


async def _load(url: str, path: str, body: Any, clients: int, requests: int) -> list[float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=30, headers=HEADERS
    ) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                started = time.perf_counter()
                response = await client.post(path, json=body)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()

        await asyncio.gather(*(worker(requests // clients) for _ in range(clients)))
    return latencies


async def _promotions_under_load(url: str, body: Any, versions: list[int]) -> tuple[int, int]:
    failures, done = 0, 0
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=HEADERS) as client:

        async def worker() -> None:
            nonlocal failures, done
            while not stop.is_set():
                try:
                    response = await client.post("/v1/predict", json=body)
                    failures += response.status_code != 200
                except httpx.HTTPError:
                    failures += 1
                done += 1

        tasks = [asyncio.create_task(worker()) for _ in range(16)]
        for i in range(10):
            await client.post(f"/v1/models/{versions[i % len(versions)]}/promote")
        stop.set()
        await asyncio.gather(*tasks)
    return failures, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="default: a random-weight model")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    from cricket_gnn.data.archive import default_archive_path

    archive = default_archive_path()
    workdir = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    checkpoint = args.checkpoint or workdir / "random.pt"
    players = _make_checkpoint(checkpoint, archive) if args.checkpoint is None else []
    if not players:
        from cricket_gnn.training.checkpoint import load_checkpoint

        players = list(load_checkpoint(checkpoint)["fitted"]["players"][:4])
    env = os.environ | {
        "DATABASE_URL": "",
        "BROKER_URL": "filesystem://",
        "CRICKET_GNN_VAR_DIR": str(workdir / "var"),
        "CRICKET_GNN_ARTIFACT_ROOT": str(workdir / "artifacts"),
        "CRICKET_GNN_DATA": str(archive),
        "CRICKET_GNN_MAINTENANCE_ENABLED": "false",
    }
    subprocess.run([sys.executable, "-m", "api", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    run_ids, key = _register(env, checkpoint, copies=2)
    if key is not None:
        HEADERS["Authorization"] = f"Bearer {key}"
    load_before = os.getloadavg()[0]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, str]] = []
    with (workdir / "api.log").open("ab") as log:
        server = subprocess.Popen(uvicorn_command("127.0.0.1", port), cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=300, headers=HEADERS) as client:
            versions = [client.post("/v1/models", json={"run_id": r}).json()["version"]
                        for r in run_ids]  # fmt: skip
            client.post(f"/v1/models/{versions[0]}/promote").raise_for_status()  # loads history
            # The version serves on PyTorch until its ONNX export (a background process) is in.
            runtime, deadline = None, time.monotonic() + 600
            while runtime != "onnxruntime" and time.monotonic() < deadline:
                time.sleep(0.5)
                runtime = client.get("/readyz").json()["model"]["runtime"]
            rows.append(("served by (GET /readyz)", str(runtime)))
            body = _body(players, 30)
            for _ in range(20):
                client.post("/v1/predict", json=body).raise_for_status()  # warm up
            # The server's own CPU time per request: unlike wall-clock latency, it barely
            # moves with the load other processes put on the box.
            process = psutil.Process(server.pid)

            def cpu() -> float:
                times = process.cpu_times()
                return float(times.user + times.system)

            for clients in (1, 16):
                cpu0 = cpu()
                lat = asyncio.run(_load(url, "/v1/predict", body, clients, args.requests))
                used = (cpu() - cpu0) / len(lat)
                rows.append((f"single /v1/predict p50 / p99 @ c={clients}",
                             f"{_percentile(lat, 50)*1e3:.1f} / {_percentile(lat, 99)*1e3:.1f} ms"
                             f"  (server CPU {used*1e3:.1f} ms/request)"))  # fmt: skip
            batch = {"items": [_body(players, i % 120) for i in range(256)]}
            started, cpu0 = time.perf_counter(), cpu()
            for _ in range(5):
                client.post("/v1/predict/batch", json=batch).raise_for_status()
            rate = 5 * 256 / (time.perf_counter() - started)
            per_core = 5 * 256 / (cpu() - cpu0)
            rows.append(("batch /v1/predict/batch (256/request)",
                         f"{rate:,.0f} predictions/s  ({per_core:,.0f}/s per server CPU-second)"))  # fmt: skip
            full = _body(players, 100)
            live_lat, append_lat = [], []
            live_cpu, append_cpu = 0.0, 0.0
            for _ in range(50):
                start = {"context": full["context"], "deliveries": full["deliveries"][:99]}
                match_id = client.post("/v1/matches", json=start).json()["match_id"]
                t0, cpu0 = time.perf_counter(), cpu()
                client.post(f"/v1/matches/{match_id}/deliveries",
                            json={"deliveries": full["deliveries"][99:]}).raise_for_status()  # fmt: skip
                t1, cpu1 = time.perf_counter(), cpu()
                client.get(f"/v1/matches/{match_id}/prediction").raise_for_status()
                append_lat.append(t1 - t0)
                live_lat.append(time.perf_counter() - t1)
                append_cpu += cpu1 - cpu0
                live_cpu += cpu() - cpu1
            rows.append(("live append 1 delivery p50 / p99 @ ball 100",
                         f"{_percentile(append_lat, 50)*1e3:.1f} / {_percentile(append_lat, 99)*1e3:.1f} ms"
                         f"  (server CPU {append_cpu / 50 * 1e3:.1f} ms)"))  # fmt: skip
            rows.append(("live next-ball prediction p50 / p99 @ ball 100",
                         f"{_percentile(live_lat, 50)*1e3:.1f} / {_percentile(live_lat, 99)*1e3:.1f} ms"
                         f"  (server CPU {live_cpu / 50 * 1e3:.1f} ms)"))  # fmt: skip
            failures, done = asyncio.run(_promotions_under_load(url, body, versions))
            rows.append(("failed requests during 10 promotions (c=16)", f"{failures} of {done}"))
    finally:
        server.terminate()
        server.wait(timeout=20)
    in_process_rows, in_process = _in_process(
        checkpoint, archive, players, workdir / "var" / "onnx"
    )
    rows.extend(in_process_rows)
    http_p50 = float(dict(rows)["single /v1/predict p50 / p99 @ c=1"].split()[0])
    rows.append(("HTTP single p50 / in-process predict p50", f"{http_p50 / in_process:.2f}x"))
    rows.append(("1-min load average (before / after; 2 cores)",
                 f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"))  # fmt: skip
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _in_process(
    checkpoint: Path, archive: Path, players: list[str], onnx_cache: Path
) -> tuple[list[tuple[str, str]], float]:
    """Rows for eager PyTorch and the exported graphs; the served one's predict p50 (ms)."""
    import torch

    from api.models.artifacts import sha256_of
    from cricket_gnn.data.archive import load_archive
    from cricket_gnn.inference.exported import exported_for
    from cricket_gnn.inference.live import LiveInnings
    from cricket_gnn.inference.predictor import Predictor
    from cricket_gnn.inference.state import InningsState, MatchContext, NextBall

    torch.set_num_threads(1)  # as the API serves (Settings.predict_torch_threads)
    predictor = Predictor.from_checkpoint(checkpoint, load_archive(archive))
    # The API's export of this checkpoint (version 1 has the same bytes): read, not redone.
    exported = exported_for(predictor.model, sha256_of(checkpoint), onnx_cache)
    body = _body(players, 30)
    state = InningsState(
        context=MatchContext(**body["context"]),
        deliveries=tuple(body["deliveries"]),
        next_ball=NextBall(**body["next_ball"]),
    )
    prepared = predictor.prepare(state)
    full = _body(players, 100)

    def timed(call: Any, repeats: int = 200) -> list[float]:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return times

    def measure() -> list[float]:
        timed(lambda: predictor.predict(state), 20)  # warm up
        predict = timed(lambda: predictor.predict(state))
        forward = timed(lambda: predictor.predict_prepared([prepared]))
        live_times, append_times = [], []
        for _ in range(50):
            live = LiveInnings(predictor, MatchContext(**full["context"]))
            live.append(full["deliveries"][:99])
            live.advance(predictor)

            def append(live: LiveInnings = live) -> None:  # as POST .../deliveries does
                live.append(full["deliveries"][99:])
                live.advance(predictor)

            append_times += timed(append, 1)
            live_times += timed(lambda live=live: live.predict(predictor), 1)
        return [_percentile(t, 50) * 1e3 for t in (append_times, live_times, predict, forward)]

    results = {"torch": measure()}
    if exported is not None:
        exported.install(predictor)
        results["onnx"] = measure()
    served = results.get("onnx", results["torch"])
    label = " / ".join(results)
    rows = [
        "in-process live append + ball encoding p50 @ ball 100",
        "in-process live next-ball p50 @ ball 100",
        "in-process Predictor.predict p50 (30 balls)",
        "in-process forward p50 (same input, parsed)",
    ]
    table = [
        (f"{row} ({label})", " / ".join(f"{r[i]:.2f}" for r in results.values()) + " ms")
        for i, row in enumerate(rows)
    ]
    return table, served[2]


if __name__ == "__main__":
    main()
