"""``python -m api keys create|list|revoke``: manage API keys straight in the database.

This is how the first admin key of a deployment is made (every HTTP route to keys needs
an admin key already). ``cricket-gnn keys …`` runs this module in a subprocess.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.auth.keys import create_api_key, list_api_keys, revoke_api_key
from api.auth.scopes import Scope
from api.db import make_engine, make_session_factory, transaction
from api.settings import get_settings


def add_keys_commands(commands: Any) -> None:
    """Register ``keys`` and its actions on a top-level subparsers object."""
    keys = commands.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="Manage API keys in the configured database (DATABASE_URL, or the "
        "embedded SQLite file under ./var).",
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        choices=[scope.value for scope in Scope],
        help="repeat for several scopes; admin implies the others",
    )
    create.add_argument("--name", required=True, help="who or what uses the key")
    listing = actions.add_parser("list", help="list keys (never their plaintext)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = actions.add_parser("revoke", help="revoke a key by id (see `keys list`)")
    revoke.add_argument("key_id", type=int)


def run_keys_command(args: argparse.Namespace, migrate: Callable[[], None]) -> int:
    """Carry out ``args.keys_command``; prints only after the transaction has committed."""
    settings = get_settings()
    if not settings.database_url:
        # The embedded default may not have been started yet: create its schema.
        migrate()
    lines: list[str] = []
    engine = make_engine(settings.effective_database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if args.keys_command == "create":
                plaintext, row = create_api_key(
                    session, name=args.name, scopes=args.scopes, created_by="cli"
                )
                lines = [
                    f"created key {row.id} '{row.name}' with scopes {', '.join(row.scopes)}; "
                    "store it now, only its hash is kept:",
                    plaintext,
                ]
            elif args.keys_command == "list":
                lines = [f"{'id':>4}  {'prefix':<13} {'scopes':<28} {'revoked':<10} name"]
                for row in list_api_keys(session, include_revoked=args.all):
                    revoked = row.revoked_at.date().isoformat() if row.revoked_at else "-"
                    lines.append(
                        f"{row.id:>4}  {row.prefix + '…':<13} {','.join(row.scopes):<28} "
                        f"{revoked:<10} {row.name}"
                    )
            else:
                revoked_row = revoke_api_key(session, args.key_id)
                if revoked_row is None:
                    print(f"no API key {args.key_id}; `keys list` shows the ids", file=sys.stderr)
                    return 2
                lines = [
                    f"revoked key {revoked_row.id} '{revoked_row.name}' ({revoked_row.prefix}…)"
                ]
    finally:
        engine.dispose()
    print("\n".join(lines))
    return 0
