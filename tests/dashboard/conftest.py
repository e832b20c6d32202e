"""A live service (uvicorn on a fresh Postgres, Redis broker) and Debian's Chromium.

The browser is /usr/bin/chromium driven by Playwright's own driver: ``playwright install``
is never run and nothing is downloaded. A missing Chromium fails these tests with the
command that installs it; ``CRICKET_GNN_SKIP_BROWSER_TESTS=1`` skips them on purpose.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

TESTS = Path(__file__).resolve().parents[1]
# The service harness, the hand-made matches and the checkpoint factory live beside.
for folder in (TESTS, TESTS / "worker", TESTS / "api"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from cricsheet_factory import simple_match, write_folder  # noqa: E402
from dashboard_live import (  # noqa: E402
    CHROMIUM_ARGS,
    DASHBOARD_REDIS,
    Dashboard,
    PageWatch,
    chromium_path,
)
from service_harness import PG_ADMIN, Service  # noqa: E402

from api.auth.keys import create_api_key  # noqa: E402
from api.db import make_engine, make_session_factory, transaction  # noqa: E402


def _tiny_archive_and_checkpoints(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[Path]]:
    """Three hand-made matches, and random-weight checkpoints fitted on them (servable)."""
    from model_fixtures import make_checkpoints

    from cricket_gnn.data.archive import load_archive

    folder = write_folder(
        tmp_path_factory.mktemp("archive"),
        {f"{i}.json": simple_match(f"2023-03-0{i}") for i in range(1, 4)},
    )
    table = load_archive(folder, cache_dir=tmp_path_factory.mktemp("archive-cache"))
    return folder, make_checkpoints(table, tmp_path_factory)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """uvicorn serving the real app on a fresh Postgres database; no worker is started."""
    chromium_path()  # fail (or skip on request) before paying for the service
    archive, checkpoints = _tiny_archive_and_checkpoints(tmp_path_factory)
    name = f"cricket_gnn_dashboard_{uuid.uuid4().hex[:10]}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    tmp = tmp_path_factory.mktemp("dashboard-service")
    service = Service(
        tmp,
        {
            "DATABASE_URL": url,
            "BROKER_URL": DASHBOARD_REDIS,
            "CRICKET_GNN_DATA": str(archive),
            "CRICKET_GNN_CACHE": str(tmp / "cache"),
            # The test plays the worker and pauses between steps to watch the browser.
            "CRICKET_GNN_HEARTBEAT_TIMEOUT_S": "600",
        },
    )
    try:
        service.migrate()
        service.start_api()
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            admin_key, _ = create_api_key(session, name="dashboard-admin", scopes=["admin"])
            read_key, _ = create_api_key(session, name="dashboard-reader", scopes=["read"])
        yield Dashboard(
            service=service,
            factory=factory,
            admin_key=admin_key,
            read_key=read_key,
            checkpoints=checkpoints,
        )
    finally:
        service.stop()
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(DASHBOARD_REDIS).flushdb()


@pytest.fixture(scope="module")
def browser(dashboard: Dashboard) -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: run `make setup` (it is a dev dependency)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Any, dashboard: Dashboard) -> Iterator[Callable[[], Any]]:
    """Opens fresh pages (empty localStorage); checks each raised nothing and called nobody."""
    contexts = []
    watches: list[PageWatch] = []

    def open_one() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        watch = PageWatch(errors=[], foreign_requests=[])
        watches.append(watch)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        page.on(
            "request",
            lambda request: (
                None
                if request.url.startswith((dashboard.url, "data:"))
                else watch.foreign_requests.append(request.url)
            ),
        )
        return page

    yield open_one
    for context in contexts:
        context.close()
    for watch in watches:
        assert watch.errors == [], f"the page raised: {watch.errors}"
        assert watch.foreign_requests == [], f"the page called out: {watch.foreign_requests}"
