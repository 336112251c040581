# HanoiSmart: `make run` serves the demo, `make test` checks everything. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV ?= .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
PORT ?= 8000
# Options passed to every pytest run, e.g. `make test PYTEST_ARGS="-k units -x"`.
PYTEST_ARGS ?=
# Parallel pytest workers (pytest-xdist); bench/README.md and CONTRIBUTING.md say why this default.
PYTEST_WORKERS ?= 2
PYTEST := $(PYTHON) -m pytest $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS),-p no:xdist) $(PYTEST_ARGS)
# makemessages/compilemessages run in src/, so that they see only the package (tests/common/test_i18n.py does too).
I18N_MANAGE := cd src && $(abspath $(PYTHON)) ../manage.py

.PHONY: help setup run test lint fmt test-sqlite test-postgres bench messages clean distclean

help: ## List the targets with what each does
	@echo "HanoiSmart — make TARGET (PORT=$(PORT))"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: ## Install what is missing (Debian packages, .venv, npm), compile messages, collect static files
	@bash scripts/setup.sh

run: setup ## Serve the demo at http://127.0.0.1:$PORT: migrate, seed, then worker + production server
	HANOISMART_DEMO=true SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" $(VENV)/bin/hanoismart demo --port "$(PORT)"

test: ## Setup, lint, then the whole suite on SQLite, then again on PostgreSQL (a throwaway cluster)
	@bash scripts/timed.sh setup $(MAKE) setup
	@bash scripts/timed.sh lint $(MAKE) lint
	@bash scripts/timed.sh test-sqlite $(MAKE) test-sqlite
	@bash scripts/timed.sh test-postgres $(MAKE) test-postgres

lint: ## ruff check + format check, import-linter, Django's system checks, missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

test-sqlite: ## The suite on SQLite (no setup; PYTEST_ARGS, PYTEST_WORKERS apply)
	env -u DATABASE_URL $(PYTEST)

test-postgres: ## The suite on PostgreSQL: DATABASE_URL if given, else scripts/postgres.sh starts one on :55432
	bash scripts/postgres.sh $(PYTEST)

fmt: ## Format the code and apply ruff's safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup ## Benchmark the candidate production servers (bench/README.md); BENCH_ARGS for options
	bash bench/run.sh $(BENCH_ARGS)

messages: setup ## Extract the Vietnamese catalog (makemessages -l vi), then compile every catalog
	mkdir -p src/hanoismart/locale
	$(I18N_MANAGE) makemessages -l vi --no-obsolete
	$(I18N_MANAGE) compilemessages

clean: ## Remove generated files: var/ (databases, static, pg cluster), caches, compiled messages
	-bash scripts/postgres.sh --stop
	rm -rf var .pytest_cache .ruff_cache .import_linter_cache .hypothesis test-results build dist
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
	find src -name '*.mo' -delete

distclean: clean ## Clean, and remove .venv and node_modules too (the next setup reinstalls them)
	rm -rf $(VENV) node_modules src/*.egg-info
