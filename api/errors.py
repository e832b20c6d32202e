"""One typed error tree and the handlers that turn it into JSON.

Every error body has the same shape: ``{"code", "message", "hint", "errors"}`` —
what went wrong, how to fix it, and (for validation) one entry per bad field.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class AppError(Exception):
    """Base of every error the API reports on purpose."""

    status_code = 500
    code = "internal_error"
    #: Extra response headers (e.g. ``WWW-Authenticate`` on a 401).
    headers: dict[str, str] = {}

    def __init__(
        self,
        message: str,
        status_code: int | None = None,
        *,
        hint: str = "",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.hint = hint
        self.errors = errors or []

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "errors": self.errors,
        }


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class InvalidRequestError(AppError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "unavailable"


class UnauthenticatedError(AppError):
    """No key, or a key the service does not accept (unknown, revoked, malformed)."""

    status_code = 401
    code = "unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="cricket-gnn"'}


class ForbiddenError(AppError):
    """A valid key without the scope the route needs."""

    status_code = 403
    code = "forbidden"


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def describe_validation_errors(raw_errors: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors rewritten as ``{field, message}`` a person can act on."""
    described = []
    for error in raw_errors:
        loc = tuple(error.get("loc", ()))
        field = _field_path(loc)
        kind = error.get("type", "")
        message = str(error.get("msg", "invalid value"))
        if kind == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'; remove it (see /docs for the accepted fields)"
        elif kind == "missing":
            message = f"field '{field}' is required"
        elif kind == "json_invalid":
            message = f"the body is not valid JSON: {error.get('ctx', {}).get('error', message)}"
        elif kind.startswith("value_error") and message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        elif "input" in error and kind not in ("missing",):
            message = f"{message} (got {error['input']!r})"
        described.append({"field": field, "message": message, "type": kind})
    return described


async def _app_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = describe_validation_errors(list(exc.errors()))
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    error = InvalidRequestError(
        f"The request is invalid ({len(errors)} problem{'s' if len(errors) != 1 else ''}): "
        f"{summary}",
        hint="Fix the fields listed in 'errors' and send the request again; "
        "GET /docs shows every field with its allowed range.",
        errors=errors,
    )
    return JSONResponse(error.body(), status_code=error.status_code)


async def _http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    hints = {
        404: "Check the path; GET /docs lists every endpoint under /v1.",
        405: "Check the HTTP method; GET /docs lists the methods of each endpoint.",
    }
    body: dict[str, object] = {
        "code": "not_found" if exc.status_code == 404 else "http_error",
        "message": str(exc.detail),
        "hint": hints.get(exc.status_code, ""),
        "errors": [],
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers so every error body has the same shape."""
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
