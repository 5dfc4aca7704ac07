# crmkit — `make` alone lists the targets. Needs only Python 3.11+ on PATH.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= data/sample/crm.duckdb  # the sample's own database: never yours (data/crm.duckdb)
MONTH  ?=
LANG_REPORT ?= en
SAMPLE_DEALS ?= 3000

.DEFAULT_GOAL := help
.PHONY: help env report sample load test lab lint bench calibrate clean

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  make /'

$(BIN)/crmkit: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q -p $(BIN)/python --compile-bytecode -e '.[test]'
	@touch $@

## env: create .venv with crmkit and the test tools (done by every target that needs it)
env: $(BIN)/crmkit

## sample: write the synthetic sample CRM to data/sample (SAMPLE_DEALS=3000)
sample: env
	$(BIN)/crmkit sample --deals $(SAMPLE_DEALS) --out data/sample

## load: load data/sample into its own database, $(DB), from scratch
load: sample
	rm -f $(DB)
	$(BIN)/crmkit load data/sample --db $(DB)

## report: sample -> database -> every report in reports/<period>/ (MONTH=2026-10, LANG_REPORT=ru)
report: load
	$(BIN)/crmkit report --db $(DB) $(if $(MONTH),--month $(MONTH)) --lang $(LANG_REPORT)

## test: lint, then the whole test suite (the browser test skips where Chromium is missing)
test: lint
	$(BIN)/python -m pytest

## lab: open JupyterLab on the notebooks, which open as notebooks (installs the [lab] extra; as root too)
lab: env
	$(BIN)/uv pip install -q -p $(BIN)/python -e '.[test,lab]'
	$(BIN)/python -m crmkit.lab

## lint: ruff over the package, notebooks and tests; sqlfluff (DuckDB dialect, .sqlfluff) over crmkit/sql
lint: env
	$(BIN)/ruff check crmkit notebooks tests benchmarks
	$(BIN)/sqlfluff lint crmkit/sql --nocolor --disable-progress-bar

## bench: scale benchmarks (a million deals: sample, CRM exports, load, metrics); figures in docs/BENCHMARKS.md
bench: env
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_exports.py

## calibrate: every band, interval and flag on accounts of known truth; the table into docs/CALIBRATION.md
calibrate: env
	$(BIN)/python benchmarks/calibrate.py --write

## clean: remove generated data, reports and the environment
clean:
	rm -rf $(VENV) data/sample data/*.duckdb reports/*/ notebooks/*.ipynb
