# The two commands of the README: `make up` starts the platform, `make test` runs every test.
PYTHON ?= python3
STAMP := .local/.installed

.PHONY: up test lint install

$(STAMP): pyproject.toml
	$(PYTHON) -m pip install -q -e '.[dev]'
	mkdir -p .local && touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(PYTHON) -m shared.cli up

test: $(STAMP)
	./deploy/local/ensure-postgres.sh
	$(PYTHON) -m shared.local.kafka fetch
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy shared services
	$(PYTHON) -m pytest -q --durations=10
