"""Schemathesis over the live API's own OpenAPI: valid and invalid requests to every
operation answer without a 5xx, and every 4xx body says what was wrong.

The service is the real one (uvicorn on Postgres + Redis, no worker: submitted jobs
just wait), with a production model so predict and match sessions are exercised too.
Generation is deterministic (derandomized) and bounded per operation.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fault_harness import FaultService
from fault_models import serving_service

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

#: Examples per operation and mode: 12 valid + 8 invalid = 20 requests an operation.
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
#: Operations left out, each with the reason. None: every operation is fuzzed.
EXCLUDED: dict[str, str] = {}
ERROR_KEYS = {"code", "message", "hint", "errors"}


def _problem(response: Any) -> str | None:
    """Why this response breaks the contract, or None if it keeps it."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}: {response.text[:500]}"
    if 400 <= status < 500:
        try:
            body = response.json()
        except ValueError:
            return f"{status} without a JSON body: {response.text[:300]!r}"
        if not isinstance(body, dict) or not set(body) >= ERROR_KEYS:
            return f"{status} body is not the error shape {sorted(ERROR_KEYS)}: {body!r:.300}"
        if not isinstance(body["message"], str) or not body["message"].strip():
            return f"{status} body has an empty message: {body!r:.300}"
    return None


def _revokes_own_key(case: Any, label: str, key_id: int | None) -> bool:
    """DELETE /v1/keys/{its own id} would turn every later request into a 401: not sent
    (the operation is still fuzzed with every other id)."""
    if label != "DELETE /v1/keys/{key_id}" or key_id is None:
        return False
    return str((case.path_parameters or {}).get("key_id")) == str(key_id)


def _fuzz(operation: Any, mode: GenerationMode, examples: int, send: Callable[[Any], None]) -> bool:
    """Send ``examples`` generated cases of one operation (no shrinking: ``send`` records);
    False when the mode cannot generate any case for it."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        send(case)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            run()
        except Unsatisfiable:
            # No invalid request exists for an operation without inputs (GET /healthz):
            # said in the printed figures, and its valid requests were still sent.
            assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.path}"
            return False
    return True


def test_fuzzed_requests_get_no_5xx_and_self_explaining_4xx(
    make_fault_service: Callable[..., FaultService],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    service, versions = serving_service(make_fault_service, tmp_path, tmp_path_factory)
    # The schema offers two ways to send a key; schemathesis fills both with made-up
    # values, so both carry the admin key (a wrong X-API-Key next to a good bearer is a
    # 401 by design, which would hide the operation behind it).
    bearer = service.http.headers.get("Authorization")
    auth = {"Authorization": bearer, "X-API-Key": bearer.removeprefix("Bearer ")} if bearer else {}
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json", headers=auth)

    calls: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    operations = []
    no_invalid_input: list[str] = []
    spared_own_key: list[str] = []
    by_operation: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in EXCLUDED:
            continue
        operations.append(label)
        for mode, examples in EXAMPLES.items():

            def send(case: Any, label: str, mode: GenerationMode) -> None:
                if _revokes_own_key(case, label, service.admin_key_id):
                    spared_own_key.append(label)
                    return
                response = case.call(base_url=service.url, headers=auth, timeout=30)
                calls[label] += 1
                statuses[response.status_code] += 1
                by_operation[label][response.status_code] += 1
                problem = _problem(response)
                if problem is not None:
                    problems.append(f"{label} [{mode.value}] {problem}\n  {case.as_curl_command()}")

            if not _fuzz(operation, mode, examples, lambda c, lb=label, md=mode: send(c, lb, md)):
                no_invalid_input.append(label)

    print(
        f"\nschemathesis over /openapi.json: operations={len(operations)} "
        f"excluded={len(EXCLUDED)} requests={sum(calls.values())} "
        f"statuses={dict(sorted(statuses.items()))} problems={len(problems)}\n"
        f"  no invalid input exists for: {no_invalid_input}\n"
        f"  cases not sent because they would revoke the fuzzer's own key: {len(spared_own_key)}"
    )
    for label in operations:
        print(f"  {label}: {calls[label]} requests {dict(sorted(by_operation[label].items()))}")
    assert len(operations) >= 15  # the schema really was read
    assert all(calls[label] > 0 for label in operations)
    assert problems == [], "\n".join(problems[:20])
