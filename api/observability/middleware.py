"""Per request: take or make an X-Request-ID, time the request, log one line about it."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability.logs import request_id_var
from api.observability.metrics import ServiceMetrics

log = logging.getLogger("api.requests")

REQUEST_ID_HEADER = "x-request-id"
#: A caller's id is kept only if it is short and plain (it is echoed into logs and headers).
_ACCEPTED_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _ACCEPTED_REQUEST_ID.match(text) else None
    return None


class RequestContextMiddleware:
    """Pure ASGI (no body buffering): request id in, request id out, latency observed."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_code = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            seconds = time.perf_counter() - started
            # The router records the matched route in the scope; its path is the template.
            route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
            self.metrics.observe_request(scope["method"], route, status_code, seconds)
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status_code,
                seconds * 1000,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            request_id_var.reset(token)
