# Nightshift: `make run` runs the system on devhost, `make test` runs every suite.
# Both set up everything they need on a fresh machine from the repo's own files.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYPROJECTS := $(wildcard contracts/pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml)
TEST_PATHS := contracts/tests libs/eventkit/tests $(wildcard libs/devhost/tests) $(wildcard services/*/tests) tests bench

.PHONY: setup test lint bench run clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: constraints.txt $(PYPROJECTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt \
		$(foreach p,$(patsubst %/pyproject.toml,%,$(PYPROJECTS)),-e ./$(p)) \
		pytest pytest-timeout ruff mypy types-PyYAML PyYAML jsonschema huey dbos schemathesis
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(VENV)/bin/pytest $(TEST_PATHS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy contracts/src libs/eventkit/src libs/devhost/src
	@# each service on its own (its package is found through MYPYPATH, as the host finds it)
	@for app in $(wildcard services/*/function_app.py); do dir=$${app%/function_app.py}; \
		echo "mypy $$dir"; MYPYPATH=$$dir $(VENV)/bin/mypy $$dir/$${dir##*/} $$app || exit 1; done

bench: setup
	$(PY) bench/run.py

# `make run` runs every app under services/ (devhost's example app if there is none);
# state stays in $(DEVHOST_STATE).
RUN_APPS ?= $(or $(wildcard services/*/function_app.py),libs/devhost/examples/hello/function_app.py)
DEVHOST_STATE ?= .devhost
DEVHOST_PORT ?= 7071

run: setup
	@echo "devhost: state in $(DEVHOST_STATE)/ (blobs under $(DEVHOST_STATE)/blobs/, keys under $(DEVHOST_STATE)/keys/)"
	@echo "devhost: look with '.venv/bin/devhost status --state $(DEVHOST_STATE)', 'devhost tail', 'devhost dlq list'; Ctrl-C stops"
	$(VENV)/bin/devhost run --state $(DEVHOST_STATE) --port $(DEVHOST_PORT) $(patsubst %/function_app.py,%,$(RUN_APPS))

clean:
	rm -rf $(VENV) node_modules .devhost
