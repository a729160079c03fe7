# Sage 50 <-> Sage Sales Management connector.
#   make demo   generate the demo Sage 50 company, start the SSM sandbox, run the sync, print what landed
#   make demo DEMO_COMPANIES=2  two demo companies with the same account codes, one SSM tenant
#   make demo EDITION=fr  a Sage 50 FR demo dossier through its export and import files
#   make test   install everything (uv, Python packages from uv.lock, unixODBC + SQLite ODBC driver), lint, test
#   make test-demo  run the whole demo as a test (left out of make test for time)
#   make dev    open the Dagster UI on the same defaults (PORT=3000, HOST=127.0.0.1 to change them)
#   make instance  create the Dagster instance (data/dagster) once, before Dagster processes of your own
#   make bench  measure the connector against its limits and peers (docs/performance.md)
SHELL := /bin/bash
.DEFAULT_GOAL := help
# The project's Dagster instance: dagster.yaml here keeps it in data/dagster. A plain `dagster dev`
# in this directory finds the same one; `make demo DAGSTER_HOME=/tmp/x` uses another.
export DAGSTER_HOME := $(CURDIR)
export PATH := $(HOME)/.local/bin:$(PATH)
# Where `make dev` serves the Dagster UI: `make dev PORT=3001`, `make dev HOST=0.0.0.0`.
HOST = 127.0.0.1
PORT = 3000
UV ?= uv
RUN := $(UV) run --frozen

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

# uv from pip; without pip, pip from ensurepip (absent from Debian's system python, but cheap to
# try), else from apt as root. Older pips lack --break-system-packages, newer Debians require it.
PIP_INSTALL_UV := { python3 -m pip install --user --quiet uv 2>/dev/null \
	  || python3 -m pip install --user --quiet --break-system-packages uv 2>/dev/null; }
uv:
	@command -v $(UV) >/dev/null 2>&1 || { \
	  echo "installing uv (not found on PATH)"; \
	  $(PIP_INSTALL_UV) \
	  || { python3 -m ensurepip --user >/dev/null 2>&1 && $(PIP_INSTALL_UV); } \
	  || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq python3-pip >/dev/null \
	       && $(PIP_INSTALL_UV); } \
	  || { echo "cannot install uv: install python3-pip (as root) or uv itself (https://docs.astral.sh/uv/), then run make again" >&2; exit 1; }; }

install: uv
	$(UV) sync --frozen --inexact

# apt-get refuses at once while another package manager holds its lock (unattended upgrades do,
# minutes after a boot): run the command again every 5 s for up to 5 minutes, then say so.
APT_WAIT = apt_wait() { \
	  for try in $$(seq 60); do \
	    out=$$("$$@" 2>&1) && { [ -n "$$out" ] && echo "$$out"; return 0; }; \
	    echo "$$out" | grep -qE 'Could not get lock|Unable to lock' || { echo "$$out" >&2; return 1; }; \
	    [ $$try = 1 ] && echo "waiting for another package manager to release its lock (up to 5 minutes)"; \
	    sleep 5; \
	  done; \
	  echo "another package manager held its lock for 5 minutes (unattended upgrades?): run make again once it is done" >&2; \
	  return 1; };

# unixODBC and the SQLite ODBC driver, for the ODBC path of the tests (the demo does not need them).
odbc:
	@if ! odbcinst -q -d 2>/dev/null | grep -q '^\[SQLite3\]'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing unixodbc and libsqliteodbc"; \
	    $(APT_WAIT) apt_wait apt-get update -qq \
	    && apt_wait env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unixodbc libsqliteodbc >/dev/null; \
	  else echo "unixODBC/SQLite ODBC driver missing and cannot apt-get: ODBC tests will skip (fail in CI)"; fi; \
	fi

# PostgreSQL (Debian's server package) and Chromium, for the production-topology tests
# (tests/deploy: the test starts its own cluster; Playwright drives /usr/bin/chromium).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing postgresql"; \
	    $(APT_WAIT) apt_wait apt-get update -qq \
	    && apt_wait env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL missing and cannot apt-get: the deploy tests will skip (fail in CI)"; fi; \
	fi

chromium:
	@if ! [ -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium"; \
	    $(APT_WAIT) apt_wait apt-get update -qq \
	    && apt_wait env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium missing and cannot apt-get: the UI test will skip (fail in CI)"; fi; \
	fi

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# The tests include a smoke run of the benchmark (`bench --quick`), so they need the bench extra.
test: install odbc postgres chromium lint
	$(UV) sync --frozen --inexact --extra bench
	# Two workers: a third on two cores stretched the launched-Dagster tests (the critical path)
	# from ~360 s to ~500 s and the suite from ~720 s to 775 s.
	# The tests' files (DuckDB warehouses, SQLite stores of the sandbox and of Dagster's instances,
	# Postgres) in memory where Linux offers it: every commit and checkpoint then costs no disk
	# flush (a launched tiny sync ~31 s on disk, ~24 s there). Open to all like /tmp, so the test
	# Postgres cluster's owner can enter its folder there. Removed afterwards, pass or fail.
	tmp=$$( [ -w /dev/shm ] && mktemp -d /dev/shm/sage50-tests.XXXX || mktemp -d ); \
	chmod 1777 "$$tmp"; \
	TMPDIR=$$tmp $(RUN) pytest -n 2 --dist loadgroup -q --durations=40 -m "not demo"; rc=$$?; \
	rm -rf "$$tmp"; exit $$rc
	$(RUN) dagster definitions validate -w workspace.yaml

# The whole `make demo` as a test (~2 min), left out of `make test` to keep it under 10 minutes.
test-demo: install
	$(RUN) pytest -q -m demo tests/pipelines/test_demo.py

demo: install
	$(RUN) python -m pipelines.demo $(if $(EDITION),--edition $(EDITION))

# Opening a new SQLite instance from two processes at once can break it: create it first, once.
instance: install
	$(RUN) python -m pipelines.instance

# With a companies file (companies.yaml, COMPANIES_FILE, or the one `make demo DEMO_COMPANIES=2`
# wrote), one code location per company; without one, the project's workspace.yaml.
dev: install
	$(RUN) python -m pipelines.demo --prepare
	$(RUN) python -m pipelines.companies workspace --out data/workspace.yaml
	$(RUN) dagster dev -w data/workspace.yaml --host $(HOST) --port $(PORT)

bench: uv odbc
	$(UV) sync --frozen --inexact --extra bench
	$(RUN) --extra bench python -m bench

bench-quick: uv odbc
	$(UV) sync --frozen --inexact --extra bench
	$(RUN) --extra bench python -m bench --quick

.PHONY: help uv install odbc postgres chromium lint test test-demo demo dev instance bench bench-quick
