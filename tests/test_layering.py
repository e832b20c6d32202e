"""Imports flow one way (DESIGN §1): the ML library never reaches into the service."""

from __future__ import annotations

import ast
from pathlib import Path

import cricket_gnn

FORBIDDEN_ROOTS = {"api", "worker", "fastapi", "celery", "sqlalchemy", "starlette", "kombu"}


def _imported_roots(source: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_cricket_gnn_never_imports_the_service_stack() -> None:
    package_dir = Path(cricket_gnn.__file__).parent
    sources = sorted(package_dir.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        bad = _imported_roots(source) & FORBIDDEN_ROOTS
        assert not bad, f"{source.relative_to(package_dir)} imports {sorted(bad)}"
