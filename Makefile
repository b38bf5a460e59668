# Two commands do all set-up: `make demo` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_HOME ?= data
export DBT_PROFILES_DIR := $(CURDIR)
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export RUNTIME__DLTHUB_TELEMETRY := false

.PHONY: demo test test-fast lint pytest fuzz bench docs clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make demo: generate sample data, run the whole pipeline on DuckDB, write the report.
demo: $(STAMP)
	$(BIN)/python scripts/generate_sample_data.py --out $(DEMO_HOME)/landing --meters 24 --days 21 --seed 7
	$(BIN)/smartmeter --home $(DEMO_HOME) run
	$(BIN)/smartmeter --home $(DEMO_HOME) report

## make test: every check CI runs: the lints, the fast in-process tests, then end to end.
test: $(STAMP) lint test-fast pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_portable_sql.py
	$(BIN)/python scripts/sync_dbt_docs.py --check
	rm -rf .lint-home && $(BIN)/smartmeter --home .lint-home init
	SMARTMETER_HOME=$(CURDIR)/.lint-home $(BIN)/sqlfluff lint dbt_project

# Two workers, a test file each at a time: the Spark tests (mostly planning on the driver) run
# beside the rest instead of after it.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	$(BIN)/pytest -x -q -n $(PYTEST_WORKERS) --dist loadfile -m e2e

## make test-fast: in-process tests of the modules (tests/unit), in well under 3 minutes.
test-fast: $(STAMP)
	$(BIN)/pytest -x -q -p no:xdist tests/unit

## make fuzz: a long property-based campaign over every layout, on DuckDB and PostgreSQL.
FUZZ_EXAMPLES ?= 200
FUZZ_BATCH ?= 10
fuzz: $(STAMP)
	SMARTMETER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SMARTMETER_FUZZ_BATCH=$(FUZZ_BATCH) \
		$(BIN)/pytest -x -q -p no:xdist tests/test_fuzz.py -k no_file_content

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py
	$(BIN)/python scripts/benchmark.py --sizes S,M --targets duckdb,postgres --no-schemes --out bench-out/postgres
	$(BIN)/python scripts/benchmark.py --sizes M --targets duckdb,postgres --spellings mixed --out bench-out/postgres-mixed
	$(BIN)/python scripts/benchmark.py --sizes S,M,L --targets duckdb,spark --no-schemes --spark-repeats 1 --spark-scheme date --out bench-out/spark

docs: $(STAMP)
	rm -rf .docs-home && $(BIN)/smartmeter --home .docs-home init
	cd dbt_project && SMARTMETER_HOME=$(CURDIR)/.docs-home ../$(BIN)/dbt docs generate
	cd dbt_project && SMARTMETER_HOME=$(CURDIR)/.docs-home ../$(BIN)/dbt docs serve --port 8080

clean:
	rm -rf $(VENV) .lint-home .docs-home dbt_project/target dbt_project/logs
