# Two commands set everything up on a machine with only Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in messages point at the address the stack listens on, the demo's included.
export HOST PORT
export SITE_URL ?= http://$(HOST):$(PORT)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format install migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	DEBUG=true $(BIN)/python manage.py migrate --no-input

demo: migrate
	DEBUG=true $(BIN)/python manage.py load_demo

# Web on http://127.0.0.1:8000 plus the Celery worker, the sender and beat, each restarted if it
# stops (bin/run-dev); Ctrl-C stops them all.
run: demo
	DEBUG=true $(BIN)/python bin/run-dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	@# Persistent connections would outlive the live server's request threads and
	@# keep the test database from being dropped.
	SECRET_KEY=test-only-secret CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var $(VENV)
