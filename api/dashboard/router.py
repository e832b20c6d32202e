"""``/dashboard``: one HTML page and its static files; every datum comes from ``/v1``.

The page needs no build step and loads nothing from the network but this service: the
browser asks for an API key once and sends it as ``Authorization: Bearer`` on each call.
The files themselves are public: they hold no data.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.staticfiles import PathLike
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The page must re-check its scripts after an upgrade, but may reuse them while unchanged.
_REVALIDATE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    """Send a browser that opens the service's address to the dashboard."""
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard")
def dashboard() -> FileResponse:
    """The single page; it routes between runs, studies and models by the URL's #fragment."""
    return FileResponse(STATIC_DIR / "index.html", headers=_REVALIDATE)


class _RevalidatedStaticFiles(StaticFiles):
    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_REVALIDATE)
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Serve ``/``, ``/dashboard`` and ``/dashboard/static/*`` on ``app``."""
    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(
            f"dashboard files are missing from {STATIC_DIR}; reinstall the package "
            "(they ship as package data of api.dashboard)"
        )
    app.include_router(router)
    app.mount(
        "/dashboard/static",
        _RevalidatedStaticFiles(directory=STATIC_DIR),
        name="dashboard-static",
    )
