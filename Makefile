# The two commands a fresh machine needs: `make demo` and `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= ./chatproof-data

.PHONY: demo test lint bench postgres chromium screenshots clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/chatproof demo --data-dir $(DATA_DIR)

test: $(INSTALLED) postgres chromium lint
	$(BIN)/pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

postgres:
	bash scripts/ensure-postgres.sh

chromium:
	bash scripts/ensure-chromium.sh

bench: $(INSTALLED)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/archive.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/sending.py
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/access_report.py

screenshots: $(INSTALLED) chromium
	CHATPROOF_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/e2e/browser

clean:
	rm -rf $(VENV) $(DATA_DIR)
