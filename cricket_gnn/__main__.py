"""`python -m cricket_gnn ...` runs the `cricket-gnn` command line."""

from cricket_gnn.cli import main

raise SystemExit(main())
