# The two commands of the README: `make run` and `make test`.
DATA ?= ../shared/data/t20s_male_json.zip
VENV := .venv/bin

.PHONY: setup run test lint bench-data import

setup:
	@scripts/setup.sh

run: setup
	@scripts/run.sh

import: setup
	$(VENV)/cricket-gnn data import $(DATA)

test: setup
	@scripts/ensure_services.sh
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy cricket_gnn api worker
	$(VENV)/python -m pytest -q

lint: setup
	$(VENV)/ruff check . && $(VENV)/ruff format --check . && $(VENV)/mypy cricket_gnn api worker

bench-data: setup
	$(VENV)/python bench/data.py --data $(DATA)
