"""The dashboard tests' live pieces: the service handle, Chromium and page helpers."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from service_harness import Service

from api.db import SessionFactory

TESTS = Path(__file__).resolve().parents[1]
#: A Redis database of its own: other suites flush db 15 while they run.
DASHBOARD_REDIS = "redis://127.0.0.1:6379/13"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = TESTS.parent / "test-artifacts"


def chromium_path() -> str:
    """Debian's Chromium (``$CRICKET_GNN_CHROMIUM`` overrides); fails loudly when absent."""
    if os.environ.get("CRICKET_GNN_SKIP_BROWSER_TESTS") == "1":
        pytest.skip("CRICKET_GNN_SKIP_BROWSER_TESTS=1: dashboard browser tests skipped on request")
    path = os.environ.get("CRICKET_GNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium not found at {path}; the dashboard's browser tests need it. Install "
            "Debian's package (`apt-get install -y chromium`; .ci/run does this), point "
            "CRICKET_GNN_CHROMIUM at a Chromium binary, or set CRICKET_GNN_SKIP_BROWSER_TESTS=1 "
            "to skip them knowingly. Never `playwright install`: it downloads browsers.",
            pytrace=False,
        )
    return path


@dataclass(kw_only=True)
class Dashboard:
    """The running service, its database and one key per role."""

    service: Service
    factory: SessionFactory
    admin_key: str
    read_key: str
    checkpoints: list[Path]

    @property
    def url(self) -> str:
        return self.service.url

    def call(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Any:
        """Call the API with ``key`` (default: the admin key); fails on an error status."""
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        # Generous: the first study request imports the statistics stack on a busy machine.
        kwargs.setdefault("timeout", 120)
        response = self.service.http.request(method, path, headers=headers, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def run_dir(self, run_id: int) -> Path:
        return self.service.tmp_path / "artifacts" / "runs" / str(run_id)


@dataclass
class PageWatch:
    """What a page did that a user would notice: uncaught errors, requests elsewhere."""

    errors: list[str]
    foreign_requests: list[str]


def sign_in(page: Any, key: str) -> None:
    """Give the page's key form a key."""
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")


def screenshot(page: Any, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    """A full-page PNG under test-artifacts/ (gitignored); prints where it is, uncaptured."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    with capsys.disabled():
        print(f"\ndashboard screenshot: {path}")
    return path
