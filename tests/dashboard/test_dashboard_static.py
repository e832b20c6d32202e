"""The dashboard's files: shipped in the package, self-contained, nothing fetched from outside."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch

from api.dashboard.router import STATIC_DIR
from api.settings import PROJECT_ROOT

FILES = sorted(path for path in STATIC_DIR.rglob("*") if path.is_file())


def test_every_dashboard_file_is_package_data() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api.dashboard"]
    package_dir = STATIC_DIR.parent
    unshipped = [
        str(path.relative_to(package_dir))
        for path in FILES
        if not any(fnmatch(str(path.relative_to(package_dir)), p) for p in patterns)
    ]
    assert {path.suffix for path in FILES} == {".html", ".css", ".js"}
    assert unshipped == [], f"add these to package-data in pyproject.toml: {unshipped}"


def test_the_page_loads_only_its_own_files() -> None:
    index = (STATIC_DIR / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="/dashboard/static/([^"]+)"', index)
    assert sorted(referenced) == ["app.js", "style.css"]
    for path in FILES:
        text = path.read_text()
        # No CDN, font or analytics URL: the page must work with no network but the API.
        assert re.findall(r"https?://(?!www\.w3\.org/2000/svg)", text) == [], path.name
        for target in re.findall(r'from "(\.{1,2}/[^"]+)"', text):
            assert (path.parent / target).resolve().is_file(), f"{path.name} imports {target}"
