"""Make, verify and revoke API keys.

A key is ``cgk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a plain hash cannot be brute-forced, and a lookup by
hash needs no per-key salt. The plaintext is returned once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlalchemy.orm import Session

from api.auth import repository
from api.auth.scopes import parse_scopes
from api.db.api_keys import ApiKey
from api.db.base import utcnow

KEY_PREFIX = "cgk_"
#: Characters of a key kept in clear to tell keys apart in listings ("cgk_" + 8).
SHOWN_PREFIX_LENGTH = 12


def hash_key(plaintext: str) -> str:
    """The hex SHA-256 stored for ``plaintext``."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key_plaintext() -> str:
    """A fresh key: the prefix and 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_api_key(
    session: Session, *, name: str, scopes: list[str], created_by: str = "cli"
) -> tuple[str, ApiKey]:
    """Store a new key with ``scopes``; returns (plaintext, row). The plaintext is not kept."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name (who or what uses it)")
    plaintext = new_key_plaintext()
    row = ApiKey(
        name=name,
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
        scopes=parse_scopes(scopes),
        created_by=created_by,
    )
    return plaintext, repository.add(session, row)


def lookup_key(session: Session, plaintext: str) -> ApiKey | None:
    """The key (revoked or not) whose hash matches ``plaintext``, else None."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    digest = hash_key(plaintext)
    row = repository.by_hash(session, digest)
    # The lookup is by index; the constant-time compare keeps the final check free of
    # any timing that depends on how much of the hash matched.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def find_active_key(session: Session, plaintext: str) -> ApiKey | None:
    """The unrevoked key whose hash matches ``plaintext``, else None."""
    row = lookup_key(session, plaintext)
    return None if row is None or row.revoked_at is not None else row


def list_api_keys(session: Session, *, include_revoked: bool = False) -> Sequence[ApiKey]:
    """Keys oldest first; revoked ones only when asked."""
    return repository.list_keys(session, include_revoked=include_revoked)


def get_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Key ``key_id`` (revoked or not), or None."""
    return repository.by_id(session, key_id)


def revoke_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Mark key ``key_id`` revoked (idempotent); None when there is no such key."""
    row = repository.by_id(session, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row
