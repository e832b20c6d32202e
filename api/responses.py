"""JSON responses for models the endpoint built itself.

A plain-`def` endpoint that returns a pydantic model makes FastAPI validate it against
`response_model` again, in a second threadpool hop (fastapi.routing.serialize_response).
The predict endpoints answer every ball of a live match, so they return the JSON bytes
of the model they built (pydantic validated it when it was made); `response_model` on
the route still documents the schema in OpenAPI.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_of(model: BaseModel, status_code: int = 200) -> Response:
    """`model` as FastAPI would send it (by alias, unset fields included)."""
    return Response(
        model.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )
