"""The evaluation package stays free of the service stack and agrees with the data schema."""

from __future__ import annotations

import ast
from pathlib import Path

import cricket_gnn.evaluation as evaluation
from cricket_gnn.data import schema

FORBIDDEN_ROOTS = {"api", "worker", "fastapi", "celery", "sqlalchemy", "starlette", "kombu"}


def test_evaluation_never_imports_the_service_stack() -> None:
    package_dir = Path(evaluation.__file__).parent
    for source in package_dir.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & FORBIDDEN_ROOTS, f"{source.name} imports {roots & FORBIDDEN_ROOTS}"


def test_constants_agree_with_the_data_schema() -> None:
    assert evaluation.CLASS_NAMES == schema.CLASS_NAMES
    assert evaluation.CLASS_RUNS == schema.CLASS_RUNS
    assert evaluation.PHASE_NAMES == schema.PHASE_NAMES
    assert evaluation.PHASE_START_OVERS == schema.PHASE_START_OVERS
