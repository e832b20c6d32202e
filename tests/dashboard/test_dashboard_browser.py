"""The dashboard in a real Chromium against a live service: what a person sees and clicks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dashboard_live import Dashboard, screenshot, sign_in
from dashboard_run_driver import VAL_LOSS, VAL_MACRO_F1, RunDriver
from playwright.sync_api import expect
from service_harness import TINY_JOB

EPOCHS = 6
#: The page polls every 2 s; a loaded machine may take a few polls to answer.
expect.set_options(timeout=30_000)


def submit(dashboard: Dashboard, run_name: str, epochs: int = EPOCHS) -> int:
    body = {**TINY_JOB, "epochs": epochs, "seeds": [42], "run_name": run_name}
    job = dashboard.call("POST", "/v1/jobs", json=body)
    return int(job["runs"][0]["id"])


def path_points(d: str) -> list[tuple[float, float]]:
    """The (x, y) vertices of an SVG path made of M/L commands."""
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)]


def ranks(values: list[float]) -> list[int]:
    return sorted(range(len(values)), key=lambda i: values[i])


def test_runs_table_follows_a_run_live_and_its_curves_are_drawn(
    dashboard: Dashboard, open_page: Callable[[], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    page = open_page()
    page.goto(dashboard.url + "/")
    expect(page).to_have_url(re.compile(r"/dashboard"))  # / redirects to the dashboard
    expect(page.locator("#key-form")).to_be_visible()

    sign_in(page, "cgk_not-a-real-key")
    expect(page.locator("#key-error")).to_contain_text("not known")
    sign_in(page, dashboard.admin_key)
    expect(page.locator("#identity-name")).to_have_text("dashboard-admin")
    expect(page.locator("#runs-table")).to_be_visible()

    waiting = dashboard.call("POST", "/v1/jobs", json={**TINY_JOB, "seeds": [1, 2]})
    run_id = submit(dashboard, "dashboard_live_run")
    row = page.locator(f'#runs-body tr[data-run-id="{run_id}"]')
    expect(row).to_have_attribute("data-status", "queued")
    for brief in waiting["runs"]:  # newest first, each waiting for a worker
        queued = page.locator(f'#runs-body tr[data-run-id="{brief["id"]}"]')
        expect(queued.locator(".progress-label")).to_have_text("waiting")
    expect(page.locator("#runs-body tr").first).to_have_attribute("data-run-id", str(run_id))
    # Set once in this document: still there at the end proves the table updated in place.
    page.evaluate("window.__sameDocument = true")

    driver = RunDriver(dashboard.factory, dashboard.run_dir(run_id), run_id)
    driver.claim(epochs=EPOCHS)
    expect(row).to_have_attribute("data-status", "running")
    bar = row.locator(".progress")
    for epoch in range(1, EPOCHS + 1):
        driver.progress(epoch, step=5)  # half way through the epoch
        expect(bar).to_have_attribute("data-fraction", f"{(epoch - 0.5) / EPOCHS:.4f}")
        expect(row.locator(".progress-label")).to_contain_text(f"epoch {epoch}/{EPOCHS}")
        if epoch == 3:
            screenshot(page, "dashboard-runs.png", capsys)  # mid-run, beside runs still queued
        driver.progress(epoch, step=10)
        driver.end_epoch(epoch)
    driver.checkpoint("best_macro_f1", dashboard.checkpoints[0], epoch=5)
    driver.succeed()
    expect(row).to_have_attribute("data-status", "succeeded")
    expect(bar).to_have_attribute("data-fraction", "1.0000")
    assert page.evaluate("window.__sameDocument") is True

    row.locator("td.name a").click()
    expect(page).to_have_url(re.compile(rf"#/runs/{run_id}$"))
    expect(page.locator("#view h1")).to_contain_text(f"Run #{run_id} · dashboard_live_run")
    for chart, series, values in (
        ("#loss-chart", "val_loss", VAL_LOSS[:EPOCHS]),
        ("#f1-chart", "val_macro_f1", VAL_MACRO_F1[:EPOCHS]),
        ("#loss-chart", "train_loss", None),
    ):
        path = page.locator(f'{chart} path[data-series="{series}"]')
        expect(path).to_have_attribute("data-points", str(EPOCHS))
        points = path_points(path.get_attribute("d") or "")
        assert len(points) == EPOCHS
        assert page.locator(f'{chart} circle[data-series="{series}"]').count() == EPOCHS
        xs = [x for x, _ in points]
        assert xs == sorted(xs) and len(set(xs)) == EPOCHS  # one point per epoch, in order
        if values is not None:
            # Higher values sit higher on screen: SVG y grows downwards.
            assert ranks([-y for _, y in points]) == ranks(values)
    expect(page.locator("#loss-chart .chart-legend")).to_contain_text("train loss")
    expect(page.locator("#loss-chart .chart-legend")).to_contain_text("val log-loss")
    expect(page.locator("#f1-chart .chart-legend")).to_contain_text("val macro F1")
    assert page.locator("#f1-chart .chart-axes .tick").count() >= 5  # labelled axes
    expect(page.locator("#epochs-table tbody tr")).to_have_count(EPOCHS)
    screenshot(page, "dashboard.png", capsys)


def _finished_run_with_checkpoints(dashboard: Dashboard) -> int:
    run_id = submit(dashboard, "dashboard_registry_run", epochs=2)
    driver = RunDriver(dashboard.factory, dashboard.run_dir(run_id), run_id)
    driver.claim(epochs=2)
    for epoch in (1, 2):
        driver.progress(epoch, step=10)
        driver.end_epoch(epoch)
    driver.checkpoint("best_loss", dashboard.checkpoints[1], epoch=2)
    driver.checkpoint("best_macro_f1", dashboard.checkpoints[2], epoch=2)
    driver.succeed()
    return run_id


def test_registry_promotes_for_an_admin_and_hides_the_button_from_a_reader(
    dashboard: Dashboard, open_page: Callable[[], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _finished_run_with_checkpoints(dashboard)
    versions = [
        dashboard.call("POST", "/v1/models", json={"run_id": run_id, "checkpoint_kind": kind})
        for kind in ("best_loss", "best_macro_f1")
    ]
    first, second = (v["version"] for v in versions)

    reader = open_page()
    reader.goto(dashboard.url + "/dashboard#/models")
    sign_in(reader, dashboard.read_key)
    expect(reader.locator("#identity-scopes [data-scope]")).to_have_text(["read"])
    expect(reader.locator(f'#models-body tr[data-version="{second}"]')).to_be_visible()
    expect(reader.locator(f'#models-body tr[data-version="{first}"]')).to_be_visible()
    expect(reader.locator("#models-table thead")).not_to_contain_text("Promote")
    expect(reader.locator("button.promote")).to_have_count(0)
    expect(reader.locator("#rollback")).to_have_count(0)

    admin = open_page()
    admin.goto(dashboard.url + "/dashboard#/models")
    sign_in(admin, dashboard.admin_key)
    row = admin.locator(f'#models-body tr[data-version="{second}"]')
    row.locator("select.alias-select").select_option("production")
    row.locator("button.promote").click()
    expect(admin.locator("#promote-dialog")).to_contain_text(f"Promote v{second} to production?")
    admin.click("#confirm-promote")  # the API loads the model before it answers
    expect(admin.locator(".notice")).to_have_text(f"v{second} is now production.", timeout=120_000)
    expect(admin.locator('.alias-card[data-alias="production"] .alias-version')).to_have_text(
        f"v{second}"
    )
    expect(row.locator(".alias-pill")).to_have_text(["production"])

    production = dashboard.call("GET", "/v1/models/aliases/production", key=dashboard.read_key)
    assert production["version"] == second
    assert [event["to_version"] for event in production["history"]] == [second]
    # The reader's page catches up on its next poll, still without a button.
    expect(reader.locator(f'#models-body tr[data-version="{second}"] .alias-pill')).to_have_text(
        ["production"]
    )
    expect(reader.locator("button.promote")).to_have_count(0)
    screenshot(admin, "dashboard-models.png", capsys)


#: Stage 1 on a two-value grid: one tuning step trains, the others reuse its runs.
STAGE1_STUDY = {
    "template": "stage1",
    "seeds": [42],
    "epochs": 2,
    "data_fraction": 0.02,
    "base": {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "lr": 0.001, "batch_size": 256},
    "grid": {"hidden_dim": [16, 32], "num_layers": [1], "lr": [0.001]},
    "num_resamples": 100,
}


def _train_queued_runs_of(dashboard: Dashboard, study_id: int) -> dict[str, Any]:
    """Play the worker for every run the study queues until it stops; the wider model wins."""
    study: dict[str, Any] = {}

    def settled_or_queued() -> bool:
        study.update(dashboard.call("GET", f"/v1/studies/{study_id}"))
        queued = any(r["status"] == "queued" for e in study["experiments"] for r in e["runs"])
        return study["status"] != "running" or queued

    for _ in range(4):
        dashboard.service.wait(settled_or_queued, timeout=180, what=f"study {study_id} to move")
        if study["status"] != "running":
            return study
        for experiment in study["experiments"]:
            for run in experiment["runs"]:
                if run["status"] != "queued":
                    continue
                driver = RunDriver(dashboard.factory, dashboard.run_dir(run["id"]), run["id"])
                driver.claim(epochs=2)
                for epoch in (1, 2):
                    driver.progress(epoch, step=10)
                    driver.end_epoch(epoch)
                driver.succeed(skill=0.55 if experiment["config"]["hidden_dim"] == 32 else 0.25)
    raise AssertionError(f"study {study_id} kept queueing runs")


def test_study_page_shows_the_stage_table_and_its_decisions(
    dashboard: Dashboard, open_page: Callable[[], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    study_id = dashboard.call("POST", "/v1/studies", json=STAGE1_STUDY)["id"]
    page = open_page()
    page.goto(dashboard.url + "/dashboard#/studies")
    sign_in(page, dashboard.read_key)
    listed = page.locator(f'#studies-body tr[data-study-id="{study_id}"]')
    expect(listed).to_contain_text("stage1")
    listed.locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"#/studies/{study_id}$"))

    stage = page.locator('section.stage[data-stage="stage1"]')
    expect(stage.locator("tr[data-experiment]")).to_have_count(2)
    expect(stage.locator(".stage-head")).to_contain_text("waiting for 2 experiments")
    expect(stage.locator('tr[data-experiment="hidden_dim=32"] .runs-cell')).to_contain_text(
        "queued"
    )

    finished = _train_queued_runs_of(dashboard, study_id)
    assert finished["status"] == "succeeded", finished["status_reason"]
    closing = next(d["decision"] for d in finished["decisions"] if d["step"] == "stage1")
    assert closing["choice"]["best_config_stage1"]["hidden_dim"] == 32

    expect(stage.locator(".stage-head")).to_contain_text("decided")
    steps = [d["step"] for d in finished["decisions"]]
    expect(stage.locator(".decision")).to_have_count(len(steps))
    for step in steps:
        expect(stage.locator(f'.decision[data-step="{step}"]')).to_be_visible()
    expect(stage.locator('.decision[data-step="stage1.hidden_dim"]')).to_contain_text("32")
    wide = stage.locator('tr[data-experiment="hidden_dim=32"]')
    expect(wide.locator("td.num").nth(3)).to_contain_text("±")  # val macro F1, mean ± sd
    expect(stage.locator('.decision[data-step="stage1"]')).to_contain_text("best_config_stage1")
    screenshot(page, "dashboard-study.png", capsys)
