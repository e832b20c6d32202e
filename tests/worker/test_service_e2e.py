"""Submit over HTTP, train for real under torchrun, read the results back over HTTP."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from service_harness import FINAL, TINY_JOB, Service, marked_processes

from api.settings import PROJECT_ROOT


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["postgres", "embedded"])
def test_two_seed_job_trains_and_records_everything(
    make_service: Callable[..., Service], kind: str
) -> None:
    service = make_service(kind)
    service.start_worker()
    job = service.submit({**TINY_JOB, "seeds": [42, 123]})
    assert [run["seed"] for run in job["runs"]] == [42, 123]

    for brief in job["runs"]:
        run = service.wait_run(brief["id"], lambda r: r["status"] in FINAL, timeout=120)
        assert run["status"] == "succeeded", service.diagnostics(brief["id"])
        assert run["attempt"] == 1 and run["exit_code"] == 0 and run["error"] is None
        assert run["data_version"] and run["code_version"]
        assert run["progress"]["fraction_done"] == 1.0
        assert run["progress"]["epochs"] == 2 and run["progress"]["world_size"] == 1
        assert run["launched_at"] >= run["created_at"]

        epochs = service.http.get(f"/v1/runs/{brief['id']}/metrics").json()["epochs"]
        assert [e["epoch"] for e in epochs] == [1, 2]
        assert all("log_loss" in e["val"] and "macro_f1" in e["val"] for e in epochs)
        assert run["latest_metrics"]["epoch"] == 2
        assert run["best_metrics"]["val"]["macro_f1"] == max(e["val"]["macro_f1"] for e in epochs)

        final = run["final_metrics"]
        assert {"log_loss", "macro_f1"} <= set(final["val"]) and "log_loss" in final["test"]
        kinds = sorted(c["kind"] for c in run["checkpoints"])
        assert kinds == ["best_loss", "best_macro_f1", "final", "last"]
        for checkpoint in run["checkpoints"]:
            assert _sha256(checkpoint["path"]) == checkpoint["sha256"]
            assert Path(checkpoint["path"]).stat().st_size == checkpoint["size_bytes"]

        logs = service.http.get(f"/v1/runs/{brief['id']}/logs").json()
        assert any("=== attempt 1" in line for line in logs["lines"])

    assert service.http.get(f"/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    # Nothing of the runs outlives them: only the API and the worker remain.
    leftovers = [p for p in marked_processes(service.mark) if "CRICKET_GNN_RUN_ID" in p.environ()]
    assert leftovers == []


def test_failing_training_reports_the_reason(make_service: Callable[..., Service]) -> None:
    service = make_service("embedded", env={"CRICKET_GNN_DATA": "/nonexistent/t20s.zip"})
    service.start_worker()
    job = service.submit(TINY_JOB)

    run = service.wait_run(job["runs"][0]["id"], lambda r: r["status"] in FINAL, timeout=90)

    assert run["status"] == "failed"
    assert run["exit_code"] not in (0, None)
    assert "torchrun exited with code" in run["status_reason"]
    assert "/nonexistent/t20s.zip" in run["error"]  # the trainer's own message, from stderr


def test_resubmission_with_the_same_key_trains_once(
    make_service: Callable[..., Service],
) -> None:
    service = make_service("postgres")
    service.start_worker()
    headers = {"Idempotency-Key": "e2e-replay"}
    job = service.submit({**TINY_JOB, "epochs": 1, "seeds": [7]}, headers=headers)
    again = service.submit({**TINY_JOB, "epochs": 1, "seeds": [7]}, headers=headers)
    assert again["id"] == job["id"]

    run = service.wait_run(job["runs"][0]["id"], lambda r: r["status"] in FINAL, timeout=90)
    assert run["status"] == "succeeded"
    listed = service.http.get(f"/v1/runs?job_id={job['id']}").json()
    assert listed["total"] == 1  # the replay created nothing


def test_a_job_distils_from_a_finished_run(make_service: Callable[..., Service]) -> None:
    from cricket_gnn.training.checkpoint import load_checkpoint

    service = make_service("embedded")
    service.start_worker()
    tiny = {**TINY_JOB, "epochs": 1}
    teacher = service.submit({**tiny, "seeds": [7]})["runs"][0]["id"]
    taught = service.wait_run(teacher, lambda r: r["status"] in FINAL, timeout=120)
    assert taught["status"] == "succeeded", service.diagnostics(teacher)
    [best] = [c for c in taught["checkpoints"] if c["kind"] == "best_loss"]

    student = service.submit({**tiny, "seeds": [8], "teacher_runs": [teacher]})["runs"][0]["id"]
    run = service.wait_run(student, lambda r: r["status"] in FINAL, timeout=120)

    assert run["status"] == "succeeded", service.diagnostics(student)
    [final] = [c for c in run["checkpoints"] if c["kind"] == "final"]
    recorded = load_checkpoint(final["path"])
    assert [t["sha256"] for t in recorded["teachers"]] == [best["sha256"]]
    assert recorded["train_config"]["distill_weight"] == 0.8
    logs = service.http.get(f"/v1/runs/{student}/logs").json()["lines"]
    assert any(f"--teacher {best['path']}" in line for line in logs)


def test_serve_command_runs_api_and_worker_and_stops_cleanly_on_ctrl_c(
    make_service: Callable[..., Service],
) -> None:
    service = make_service("embedded", api=False)
    output = service.tmp_path / "serve.out"
    with output.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--port", str(service.port)],
            cwd=PROJECT_ROOT, env=service.env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        banner = f"training service: {service.url}"
        service.wait(lambda: banner in output.read_text(), timeout=60, what="the serve banner")
        assert service.http.get("/readyz").status_code == 200
        # The embedded default prints the local admin key it keeps in var/admin-key.
        local_key = (service.tmp_path / "var" / "admin-key").read_text().strip()
        assert f"local admin API key: {local_key}" in output.read_text()
        as_local = {"Authorization": f"Bearer {local_key}"}
        assert service.http.get("/v1/keys/me", headers=as_local).json()["name"] == "local-admin"
        run_id = service.submit({**TINY_JOB, "epochs": 1, "seeds": [5]})["runs"][0]["id"]
        run = service.wait_run(run_id, lambda r: r["status"] in FINAL, timeout=90)
        assert run["status"] == "succeeded"
        # A long run interrupted by Ctrl-C is handed back, not lost.
        long_id = service.submit({**TINY_JOB, "epochs": 500, "patience": 1000, "seeds": [6]})[
            "runs"
        ][0]["id"]
        service.wait_run(long_id, lambda r: any(c["kind"] == "last" for c in r["checkpoints"]))

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=40) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
    assert marked_processes(service.mark) == []  # API, worker, torchrun and ranks all gone

    service.start_api()  # no worker: the run waits, queued to resume
    handed_back = service.run(long_id)
    assert (handed_back["status"], handed_back["attempt"]) == ("queued", 2)
    assert "worker is shutting down" in handed_back["status_reason"]
    assert handed_back["attempt_limit"] == 4  # a shutdown does not use up an attempt
