# Flowgate developer commands. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/flowgate
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
REDIS_CHAOS_URL ?= redis://127.0.0.1:6379/1
# @carbon/* (pulled in by dmn-js) runs IBM's telemetry collector after `npm ci` in CI: opt out.
export IBM_TELEMETRY_DISABLED := true

.PHONY: run test test-js test-postgres test-chaos test-sqlite lint bench chaos load security-report venv assets browser migrate demo lock clean

## The development venv: the production pins (requirements.lock) and the test, lint and bench
## tools (requirements-dev.lock, which repeats the production pins). The image installs only the first.
$(BIN)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.lock -r requirements-dev.lock
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(BIN)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/dist/.built: node_modules/.installed $(shell find static/src -type f 2>/dev/null) build.mjs
	npm run --silent build
	touch $@

assets: static/dist/.built

## Headless Chromium for the browser (e2e) tests and promtool for the metrics check: installed
## with apt-get when we are root on Debian
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "no /usr/bin/chromium (and no root apt-get): the browser tests will be skipped"; fi
	@# promtool (Debian's prometheus package) checks the /metrics exposition in tests/reports
	@if command -v promtool >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing promtool for the metrics test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	else echo "no promtool (and no root apt-get): the promtool metrics check will be skipped"; fi

migrate: venv
	$(PYTHON) manage.py migrate --noinput

demo: migrate
	$(PYTHON) manage.py bootstrap_demo

## make run: the whole portal (web + worker + beat) on the embedded default (SQLite, no Redis)
run: venv assets demo
	$(PYTHON) manage.py run_portal

## make test: the full suite; first the front end's unit tests (tests/js/, Node's own test runner),
## then two concurrent lanes (.ci/test-lanes, each to var/test-lanes/<lane>.log, printed at the end):
## the PostgreSQL pass (PostgreSQL + Redis + real Celery workers) and, beside it, the chaos suite
## then the SQLite pass. Without PostgreSQL on 127.0.0.1:5432, the SQLite pass only.
test: venv assets browser test-js
	@if $(PYTHON) -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then \
	  MAKE="$(MAKE)" .ci/test-lanes; \
	else echo "PostgreSQL not reachable on 127.0.0.1:5432: running the SQLite suite only"; \
	  MAKE="$(MAKE)" .ci/test-lanes sqlite-only; fi

test-js: node_modules/.installed
	npm run --silent test

## The PostgreSQL pass: every test but the chaos suite (make test-chaos runs that beside it)
test-postgres: venv assets
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTHON) -m pytest -m "not chaos" $(PYTEST_ARGS)

## The chaos suite as make test runs it (5 runs per scenario, docs/reliability.md untouched).
## Its servers are private (PostgreSQL 5442, Redis 6395, ports 18500-18511); its own pytest
## process keeps apart from the PostgreSQL pass running beside it: its own test database name,
## Redis db and var dir. PYTEST_ARGS that select no chaos test (make test PYTEST_ARGS="-k audit")
## leave it passed (pytest's exit status 5: nothing selected).
test-chaos: venv assets
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_CHAOS_URL) TEST_DATABASE_NAME=test_flowgate_chaos \
	  FLOWGATE_VAR_DIR=$(CURDIR)/var/test-chaos \
	  $(PYTHON) -m pytest tests/chaos -m chaos -p no:randomly -p no:cacheprovider $(PYTEST_ARGS); \
	  status=$$?; if [ $$status = 5 ]; then echo "no chaos test selected"; else exit $$status; fi

test-sqlite: venv assets
	DJANGO_ENV=test DATABASE_URL= REDIS_URL= FLOWGATE_VAR_DIR=$(CURDIR)/var/test-sqlite \
	  $(PYTHON) -m pytest -m "not integration and not postgres_only and (not e2e or embedded)" -p no:cacheprovider $(PYTEST_ARGS)

lint: venv node_modules/.installed
	npm run --silent check  # biome lint (biome.json), then tsc: the JSDoc types of the // @ts-check modules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_ENV=test $(PYTHON) .ci/mypy_baseline.py  # all of apps/ and portal/; .ci/mypy-baseline.txt only shrinks

## make bench: the benchmarks on PostgreSQL + Redis into docs/benchmarks/; ONLY="engine inbox"
## runs those only (also: history, purge, tracing, profile, which a plain run leaves out)
bench: venv
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTHON) -m tests.benchmarks $(ONLY)

## make chaos: fault injection against the whole portal (private PostgreSQL 5442 + Redis 6395),
## 5 runs per scenario (FULL=1: 20); writes var/chaos/results.json and docs/reliability.md
chaos: venv assets
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) CHAOS_WRITE_DOCS=1 FULL=$(FULL) \
	  CHAOS_RESULTS=$(CURDIR)/var/chaos/results-$(if $(FULL),full,ci).json \
	  $(PYTHON) -m pytest tests/chaos -m chaos -p no:randomly -p no:cacheprovider -q $(PYTEST_ARGS)

## make load: Locust (designers, requesters, approvers, API clients) against the real stack for a
## bounded time (LOAD_SECONDS, LOAD_USERS); writes docs/benchmarks/load.md
load: venv assets
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PYTHON) -m tests.load.run

## make security-report: the security corpus (and the security tests it references) on
## PostgreSQL + Redis; writes the per-category table into docs/security.md
SECURITY_TESTS = tests/security tests/e2e/test_security_csp.py tests/e2e/test_security_xss.py tests/engine_core/test_xml.py tests/engine_core/test_expressions.py tests/connectors/test_ssrf.py
security-report: venv assets browser
	DJANGO_ENV=test DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) \
	  FLOWGATE_SECURITY_REPORT=$(CURDIR)/var/security-report.json \
	  $(PYTHON) -m pytest -p tests.security.plugin -q -p no:randomly $(SECURITY_TESTS)
	$(PYTHON) -m tests.security.report var/security-report.json docs/security.md

## make lock: pin pyproject.toml's ranges with pip-tools (in its own venv under var/, not a
## project dependency). requirements.lock: the production dependencies; requirements-dev.lock:
## those pins (-c) plus the [dev] extra. Pins already in the files are kept unless a range
## excludes them; `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed.
LOCK_TOOLS := var/lock-tools
PIP_COMPILE = $(LOCK_TOOLS)/bin/pip-compile --quiet --strip-extras --annotation-style=line \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock:
	test -x $(LOCK_TOOLS)/bin/pip-compile || \
	  ( $(PY) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet pip-tools==7.6.2 )
	$(PIP_COMPILE) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) node_modules static/dist var
