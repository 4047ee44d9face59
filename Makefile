# The two commands a newcomer needs (README): `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: install run test lint format bench bench-quick system-deps data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the app on the shipped Connecticut data (no server needed besides Streamlit itself).
run: install
	$(VENV)/bin/assetmap serve

## Everything the tests need (Debian chromium for browser tests, PostgreSQL + PostGIS, Pango for
## the PDF family sheet), then the suite.
test: install system-deps
	$(PY) -m pytest -n 2 --dist loadfile

system-deps:
	bash scripts/install_system_deps.sh

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Rebuild data/ from ../shared/data (only needed when the sources change).
data: install
	$(PY) scripts/build_data.py

bench: install system-deps
	$(PY) -m benchmarks all

bench-quick: install
	$(PY) -m benchmarks quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var
