"""Row ids as the API accepts them: positive and within the database's INTEGER column.

Without the upper bound an id such as 10**12 reached Postgres, which refused it
("integer out of range") and the client got a bare 500; now it is a 422 that says why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

#: The largest value of a Postgres INTEGER (ids are SERIAL columns).
MAX_ROW_ID = 2**31 - 1

RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
RowIdField = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
