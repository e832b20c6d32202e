#!/usr/bin/env bash
# `make run`: import the data (cached after the first time), then start the service if
# this checkout has it, on the embedded defaults unless DATABASE_URL/BROKER_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${CRICKET_GNN_DATA:-../shared/data/t20s_male_json.zip}
.venv/bin/cricket-gnn data import "$DATA" || [ $? -eq 1 ]  # 1 = some files skipped
if [ -f api/__main__.py ]; then
  exec .venv/bin/python -m api serve
fi
