"""Ten promotions while clients keep calling /v1/predict over HTTP on a live uvicorn:
not one prediction fails, and the new versions are served as they are promoted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fault_harness import FaultService
from fault_models import (
    context,
    delivery,
    next_ball,
    serving_service,
)

NUM_CLIENTS = 4
NUM_PROMOTIONS = 10
MAX_REQUESTS = 20_000  # a bound on the load, whatever happens


def test_ten_promotions_during_predict_load_fail_no_request(
    make_fault_service: Callable[..., FaultService],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    service, versions = serving_service(make_fault_service, tmp_path, tmp_path_factory)
    body = {
        "context": context(),
        "deliveries": [delivery(over=i // 6, runs=i % 3) for i in range(30)],
        "next_ball": next_ball(),
    }
    stop = threading.Event()
    failures: list[str] = []
    served: Counter[int] = Counter()

    def predict_until_stopped() -> None:
        with httpx.Client(base_url=service.url, headers=service.http.headers, timeout=30) as client:
            while not stop.is_set() and sum(served.values()) + len(failures) < MAX_REQUESTS:
                try:
                    response = client.post("/v1/predict", json=body)
                except httpx.HTTPError as exc:  # a dropped connection counts as a failure
                    failures.append(repr(exc))
                    continue
                if response.status_code == 200:
                    served[response.json()["model_version"]] += 1
                else:
                    failures.append(f"{response.status_code}: {response.text[:300]}")

    clients = [threading.Thread(target=predict_until_stopped) for _ in range(NUM_CLIENTS)]
    for thread in clients:
        thread.start()
    promoted_to = []
    try:
        for i in range(NUM_PROMOTIONS):
            version = versions[(i + 1) % len(versions)]
            seen = served[version]
            response = service.http.post(f"/v1/models/{version}/promote")
            assert response.status_code == 200, response.text
            promoted_to.append(version)
            # Let the load hit each new version before the next promotion.
            deadline = time.monotonic() + 30
            while served[version] < seen + 10 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        stop.set()
        for thread in clients:
            thread.join(timeout=60)

    requests = sum(served.values()) + len(failures)
    history_moves = service.get("/v1/models/aliases/production")["history"]
    print(
        f"\n{NUM_PROMOTIONS} promotions during /v1/predict load over HTTP: clients={NUM_CLIENTS} "
        f"requests={requests} failures={len(failures)} promotions={len(promoted_to)} "
        f"served_per_version={dict(sorted(served.items()))}"
    )
    assert failures == [], failures[:5]
    assert len(promoted_to) == NUM_PROMOTIONS
    assert set(served) == set(versions)  # every promoted version answered requests
    assert len(history_moves) == NUM_PROMOTIONS + 1
