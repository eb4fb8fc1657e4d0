# The two commands a newcomer needs: `make run` and `make test`. Everything else is their parts.
# Each step is a file target, so a second `make run` reinstalls and rebuilds nothing that has not
# changed and starts in seconds.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
FRONTEND_BUILD := frontend/dist/index.html
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/vite.config.* \
	frontend/tsconfig*.json -type f 2>/dev/null)
JS_TEST_DEPS := tests/js/node_modules/.package-lock.json
# PostgreSQL pass of the suite; set it empty to skip that pass outside CI.
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres test-frontend test-fast lint install migrate bench clean \
	trust-long api-types api-types-check

run: $(RUNTIME_STAMP) $(FRONTEND_BUILD)
	$(PY) -m app

install: $(RUNTIME_STAMP)

migrate: $(RUNTIME_STAMP)
	$(PY) -c "from app.migrate import upgrade; upgrade()"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(FRONTEND_DEPS): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND_BUILD): $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $@

$(JS_TEST_DEPS): tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

lint: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint test-frontend test-sqlite test-postgres

test-frontend: $(FRONTEND_DEPS) api-types-check
	cd frontend && npm test

# The frontend's API types, generated from the server's OpenAPI schema (openapi-typescript).
# Run `make api-types` after changing a route or a model and commit frontend/src/api-types.ts;
# `make test-frontend` (so `make test` and CI) fails while the checked-in file differs.
API_TYPES := frontend/src/api-types.ts
GENERATE_API_TYPES = schema=$$(mktemp --suffix=.json) && \
	$(PY) -m app.openapi_dump > "$$schema" && \
	(cd frontend && npx --no-install openapi-typescript "$$schema" --output "$$out" >/dev/null); \
	status=$$?; rm -f "$$schema"; exit $$status

api-types: $(RUNTIME_STAMP) $(FRONTEND_DEPS)
	@out="$(CURDIR)/$(API_TYPES)"; $(GENERATE_API_TYPES)
	@echo "$(API_TYPES) regenerated from the server's OpenAPI schema"

api-types-check: $(RUNTIME_STAMP) $(FRONTEND_DEPS)
	@out=$$(mktemp --suffix=.ts); trap 'rm -f "$$out"' EXIT; ($(GENERATE_API_TYPES)) && \
	if ! diff -u $(API_TYPES) "$$out"; then \
		echo "$(API_TYPES) does not match the server's OpenAPI schema: run make api-types and commit it"; \
		exit 1; fi

# The fast tier alone (in process, real SQLite files, seconds): for quick iteration. `make test`
# runs it too, inside the SQLite and PostgreSQL passes.
test-fast: $(DEV_STAMP)
	$(PY) -m pytest -p no:cacheprovider tests/unit

# Test modules run in parallel, each whole in one worker (its shared server, browser and
# module fixtures stay one); most of a test's time is waiting on its server, so two workers
# nearly halve the suite on two cores. Tests marked `timing` assert how fast something happens:
# they run after, alone, so a neighbour's load cannot fail them. PYTEST_WORKERS=0 runs the
# first part in one process too.
PYTEST_WORKERS ?= 2
PYTEST = $(PY) -m pytest --durations=10
PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile -m "not timing"
# The PostgreSQL pass leaves out the long tests whose subject does not depend on the database
# (marked `database_independent`: the websocket fuzz campaigns, a trace replay).
PARALLEL_POSTGRES = -n $(PYTEST_WORKERS) --dist loadfile -m "not timing and not database_independent"
ALONE = -m timing

test-sqlite: $(DEV_STAMP) $(FRONTEND_BUILD) $(JS_TEST_DEPS)
	$(PYTEST) $(PARALLEL)
	$(PYTEST) $(ALONE)

# The same suite on PostgreSQL (the browser tests and the fast tier, SQLite's by design, only
# once, above; the deployment and cluster tests, which make PostgreSQL databases of their own in
# either pass, too). Under CI a missing server is a failure, never a skip; elsewhere the pass is
# skipped with a notice.
test-postgres: $(DEV_STAMP) $(JS_TEST_DEPS)
	@if [ -z "$(PG_TEST_URL)" ]; then echo "PostgreSQL pass skipped (PG_TEST_URL empty)"; \
	elif $(PY) -m tests.support.pgcheck "$(PG_TEST_URL)"; then \
		export WIDEN_TEST_DATABASE_URL="$(PG_TEST_URL)"; \
		$(PYTEST) $(PARALLEL_POSTGRES) --ignore=tests/e2e --ignore=tests/unit \
			--ignore=tests/deploy --ignore=tests/cluster && \
		$(PYTEST) $(ALONE) --ignore=tests/e2e --ignore=tests/unit --ignore=tests/deploy \
			--ignore=tests/cluster; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL unreachable at $(PG_TEST_URL)"; exit 1; \
	else echo "PostgreSQL unreachable at $(PG_TEST_URL): its pass is skipped (not in CI)"; fi

# The long campaigns of tests/trust (minutes, not seconds), one pytest run per line, each with
# WIDEN_LONG=1: at least 100,000 fuzzed websocket messages, 20 rounds of kill -9, and the long
# schemathesis run. `make test` runs the same files in their short CI mode.
# PYTEST_ADDOPTS=-s shows their counts as they run.
trust-long: $(DEV_STAMP) $(JS_TEST_DEPS)
	WIDEN_LONG=1 $(PY) -m pytest -p no:cacheprovider tests/trust/test_ws_property_fuzz.py
	WIDEN_LONG=1 $(PY) -m pytest -p no:cacheprovider tests/trust/test_crash_campaign.py
	WIDEN_LONG=1 $(PY) -m pytest -p no:cacheprovider tests/trust/test_schema_fuzz.py

bench: $(DEV_STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist tests/js/node_modules bench/js/node_modules
