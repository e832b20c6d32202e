"""``python -m api serve|migrate|worker|keys``: run the training service.

``serve`` migrates the database, starts the API (uvicorn) and one training worker
(Celery, queue ``training``), prints the URL and stops both on Ctrl-C. With nothing
configured it uses the embedded defaults (SQLite + filesystem broker under ./var);
set DATABASE_URL and BROKER_URL for Postgres + Redis. On the embedded default ``serve``
also prints a local admin API key (kept in var/admin-key); ``keys`` manages keys.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

import psutil

from api.auth.cli import add_keys_commands, run_keys_command
from api.auth.local_key import ensure_local_admin_key
from api.settings import PROJECT_ROOT, TRAINING_QUEUE, get_settings


def migrate() -> None:
    """``alembic upgrade head`` on the configured database."""
    from alembic import command
    from alembic.config import Config

    get_settings().ensure_local_dirs()
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    command.upgrade(config, "head")


def uvicorn_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app",
        "--host", host, "--port", str(port), "--no-access-log",
    ]  # fmt: skip


def worker_command(concurrency: int = 1, name: str = "training@%h") -> list[str]:
    # prefork: the parent keeps answering the broker (ping, revoke) while a child trains.
    return [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
        "-Q", TRAINING_QUEUE, "--pool", "prefork", "--concurrency", str(concurrency),
        "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
        "-n", name, "--loglevel", "INFO",
    ]  # fmt: skip


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(processes: Sequence[subprocess.Popen[bytes]], timeout_s: float = 20) -> None:
    """SIGTERM the API, cold-stop the worker, then kill anything of ours still alive.

    On the cold shutdown the training task stops every rank and hands its run back to
    the queue, so the next start resumes it from its last checkpoint. The descendants
    are listed first: torchrun and its ranks live in sessions of their own, and
    whatever of them is still alive at the end is killed.
    """
    me = psutil.Process()
    descendants = me.children(recursive=True)
    for process in processes:
        if process.poll() is None:
            # Celery: SIGQUIT = cold shutdown; SIGTERM would wait for the training to end.
            sig = signal.SIGQUIT if "celery" in process.args else signal.SIGTERM  # type: ignore[operator]
            process.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
    _, alive = psutil.wait_procs(descendants, timeout=5)
    for leftover in alive:
        leftover.kill()


def serve(host: str, port: int, with_worker: bool) -> int:
    settings = get_settings()
    migrate()
    admin_key = ensure_local_admin_key(settings)
    url = f"http://{host}:{port}"
    # Own sessions: Ctrl-C reaches only this launcher, which stops the children in order.
    commands = [uvicorn_command(host, port)] + ([worker_command()] if with_worker else [])
    processes = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, start_new_session=True) for command in commands
    ]
    stop_requested = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if not _wait_healthy(url, processes[0]):
            print("cricket-gnn: the API did not start; see the messages above", file=sys.stderr)
            return 1
        print(
            f"\ncricket-gnn training service: {url}  (API docs: {url}/docs)\n"
            f"  database: {settings.effective_database_url}\n"
            f"  broker:   {settings.broker_url}\n"
            f"  artifacts: {settings.artifact_root}\n"
            + (
                f"  local admin API key: {admin_key}\n"
                f"    (kept in {settings.local_admin_key_file}; send it as "
                "'Authorization: Bearer <key>'; make narrower keys with POST /v1/keys)\n"
                if admin_key
                else "  API keys: create the first admin key with "
                "`cricket-gnn keys create --scope admin --name NAME`\n"
            )
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while not stop_requested and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    finally:
        _stop(processes)
    failed = [p for p in processes if p.returncode not in (0, -15, 143, -3, None)]
    return 1 if failed and not stop_requested else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="migrate, then run the API and a worker")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--no-worker", action="store_true", help="run the API alone")
    commands.add_parser("migrate", help="alembic upgrade head")
    worker_parser = commands.add_parser("worker", help="run one training worker")
    worker_parser.add_argument("--concurrency", type=int, default=1)
    worker_parser.add_argument("--name", default="training@%h")
    add_keys_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "keys":
        try:
            return run_keys_command(args, migrate)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.command == "migrate":
        migrate()
        return 0
    if args.command == "worker":
        command = worker_command(args.concurrency, args.name)
        os.execv(command[0], command)
    return serve(args.host, args.port, with_worker=not args.no_worker)


if __name__ == "__main__":
    sys.exit(main())
