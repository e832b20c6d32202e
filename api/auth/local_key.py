"""The embedded default's local admin key: made once, kept in var/admin-key (0600).

``python -m api serve`` on SQLite prints it at every start so a newcomer is never locked
out of their own service. With DATABASE_URL set (a shared deployment) nothing is made
automatically: an operator runs ``cricket-gnn keys create --scope admin``.
"""

from __future__ import annotations

import os

from api.auth.keys import create_api_key, find_active_key
from api.auth.scopes import Scope
from api.db import make_engine, make_session_factory, transaction
from api.settings import Settings

LOCAL_ADMIN_NAME = "local-admin"


def ensure_local_admin_key(settings: Settings) -> str | None:
    """The embedded default's admin key (created if missing or revoked); None on Postgres."""
    if settings.database_url:
        return None
    path = settings.local_admin_key_file
    stored = path.read_text().strip() if path.is_file() else ""
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if stored and find_active_key(session, stored) is not None:
                return stored
            plaintext, _ = create_api_key(
                session, name=LOCAL_ADMIN_NAME, scopes=[Scope.ADMIN.value], created_by="serve"
            )
    finally:
        engine.dispose()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(plaintext + "\n")
    os.chmod(path, 0o600)  # the file may have existed with looser permissions
    return plaintext
