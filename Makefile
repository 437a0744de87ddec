# CASPR: two commands for a newcomer (README): `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
STAGE ?= dev
PYTEST := $(BIN)/python -m pytest

.PHONY: install run test lint unit integration e2e contract package deploy bench browser clean

$(STAMP): pyproject.toml constraints.txt setup.py services/match/match/domain/_native.c
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	PORT=$(PORT) EMPTY=$(EMPTY) DEMO=$(DEMO) $(BIN)/python -m caspr_local

test: install lint unit integration package e2e

lint: install
	$(BIN)/ruff check .

unit: install
	$(PYTEST) -q -m "not e2e and not integration" -n 2

integration: install
	$(PYTEST) -q -m integration

e2e: install browser
	$(PYTEST) -q -m e2e --durations=25

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

package: install
	$(BIN)/python -m scripts.package --stage $(STAGE) --out build/package

ifneq ($(filter deploy,$(MAKECMDGOALS)),)
ifeq ($(strip $(CASPR_ARTIFACT_BUCKET)$(DRY_RUN)),)
$(error make deploy: set CASPR_ARTIFACT_BUCKET=<an S3 bucket in the deployment region> (or DRY_RUN=1 to print the plan))
endif
endif
deploy: package
	$(BIN)/python -m scripts.deploy --stage $(STAGE) --dir build/package $(if $(DRY_RUN),--dry-run)

bench: install
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_match.py
	$(BIN)/python bench/bench_applications.py
	$(BIN)/python bench/bench_interviews.py
	$(BIN)/python bench/bench_local_stack.py
	$(BIN)/python bench/bench_season.py

clean:
	rm -rf build .pytest_cache .ruff_cache
