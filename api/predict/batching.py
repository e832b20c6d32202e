"""Micro-batching: concurrent single predictions share one forward pass.

Requests run on the threadpool; each parses and checks its own state, then queues it.
If no forward is running, the request runs one at once for everything queued (itself
included), so a lone request waits for nobody. Requests that arrive meanwhile wait;
when the forward ends, the first of them leads the next forward with all that queued
up. Under load, one forward serves many requests: on a 2-core box the per-forward
Python and dispatch overhead, not arithmetic, is what a request costs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cricket_gnn.inference.predictor import Predictor, PreparedState
    from cricket_gnn.inference.state import Prediction


@dataclass(eq=False)
class _Waiting:
    predictor: Predictor
    state: PreparedState
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Prediction | None = None
    error: BaseException | None = None


class MicroBatcher:
    """Merges the states queued while a forward runs into the next forward (no timer)."""

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._running = False

    def predict(self, predictor: Predictor, state: PreparedState) -> Prediction:
        """The prediction for one prepared state, possibly computed with others."""
        me = _Waiting(predictor, state)
        with self._lock:
            self._queue.append(me)
            me.lead = not self._running
            self._running = True
        while True:
            if me.lead:
                self._lead()
            else:
                me.done.wait()
                me.done.clear()
            if me.result is not None:
                return me.result
            if me.error is not None:
                raise me.error

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
        try:
            _run(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._running = False
            for waiting in batch:
                waiting.lead = False
                waiting.done.set()


def _run(batch: list[_Waiting]) -> None:
    # A promotion may land between two requests: each model answers its own requests.
    by_model: dict[int, list[_Waiting]] = {}
    for waiting in batch:
        by_model.setdefault(id(waiting.predictor), []).append(waiting)
    for group in by_model.values():
        try:
            answers = group[0].predictor.predict_prepared([w.state for w in group])
        except Exception as exc:  # every waiting request sees the failure, none hangs
            for waiting in group:
                waiting.error = exc
            continue
        for waiting, answer in zip(group, answers, strict=True):
            waiting.result = answer
