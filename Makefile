# The two commands of the README: `make up` starts the platform, `make test` runs every test.
PYTHON ?= python3
STAMP := .local/.installed

.PHONY: up test lint install lock

# The pinned, hash-checked versions CI tests with (the image installs requirements/runtime.txt the same way).
$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m pip install -q --require-hashes -r requirements/dev.txt
	$(PYTHON) -m pip install -q --no-deps -e .
	mkdir -p .local && touch $(STAMP)

# After changing the dependencies in pyproject.toml: pin them again (needs pip-tools).
LOCK_OPTIONS := -q --strip-extras --generate-hashes --allow-unsafe --no-emit-find-links
lock:
	pip-compile $(LOCK_OPTIONS) -o requirements/runtime.txt pyproject.toml
	pip-compile $(LOCK_OPTIONS) --extra dev -o requirements/dev.txt pyproject.toml
	pip-compile $(LOCK_OPTIONS) -o requirements/build.txt requirements/build.in

install: $(STAMP)

up: $(STAMP)
	$(PYTHON) -m shared.cli up

test: $(STAMP)
	./deploy/local/ensure-postgres.sh
	$(PYTHON) -m shared.local.kafka fetch
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy shared services
	$(PYTHON) -m pytest -q --durations=10
