# The README's two commands are `make run` and `make test`; both set up .venv
# on first use, so a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python serve.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

schema: $(STAMP)
	$(BIN)/python manage.py export-schema

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) rapport.db rapport.db-shm rapport.db-wal
