"""``cricket-gnn keys …``: the service's key management, run as ``python -m api keys …``.

The library never imports the service (tests/test_layering.py); a subprocess keeps that
true while giving one command line for both.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

#: The service's command-line module, started in a child interpreter.
SERVICE_MODULE = "api"


def keys_main(argv: Sequence[str]) -> int:
    """Run ``python -m api keys ARGV`` with this interpreter; returns its exit status."""
    return subprocess.call([sys.executable, "-m", SERVICE_MODULE, "keys", *argv])
