"""The four scopes a key can hold; ``admin`` implies every other."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    READ = "read"
    PREDICT = "predict"
    TRAIN = "train"
    ADMIN = "admin"


def grants(held: Iterable[str], needed: Scope) -> bool:
    """Whether a key holding ``held`` may call a route that needs ``needed``."""
    held_set = set(held)
    return Scope.ADMIN in held_set or needed in held_set


def parse_scopes(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated scopes in a fixed order; ValueError names a bad one."""
    known = [scope.value for scope in Scope]
    requested = set()
    for value in values:
        if value not in known:
            raise ValueError(f"unknown scope {value!r}; choose from {', '.join(known)}")
        requested.add(value)
    if not requested:
        raise ValueError(f"a key needs at least one scope ({', '.join(known)})")
    return [scope for scope in known if scope in requested]
