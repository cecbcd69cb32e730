# The two commands of the README: `make up` starts the platform, `make test` runs every test.
# Both run in the project's own virtualenv, .venv/, made on first use with the machine's python3 (3.11 or later):
# nothing is installed into that python3 itself. `make clean-venv` removes it; the next command makes it again.
BOOTSTRAP_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
POVERTY := $(VENV)/bin/poverty
STAMP := $(VENV)/.installed

.PHONY: up test install lock clean-venv

# The virtualenv itself (remade whole when its interpreter is gone, e.g. after python3 was upgraded). Debian and
# Ubuntu ship venv's pip bootstrap apart from python3: `.ci/run` installs it, a developer is told to.
$(PYTHON):
	@$(BOOTSTRAP_PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "$(BOOTSTRAP_PYTHON) cannot make a virtualenv: install python3-venv (sudo apt-get install -y python3-venv)" >&2; \
		exit 1; }
	rm -rf $(VENV)
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)

# The pinned, hash-checked versions CI tests with (the image installs requirements/runtime.txt the same way), and
# the project itself, editable, built with the pinned setuptools of requirements/build.txt: nothing unpinned is
# downloaded (pip itself stays the one the virtualenv came with).
$(STAMP): pyproject.toml requirements/dev.txt requirements/build.txt | $(PYTHON)
	$(PYTHON) -m pip install -q --require-hashes -r requirements/dev.txt -r requirements/build.txt
	$(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

clean-venv:
	rm -rf $(VENV)

# After changing the dependencies in pyproject.toml: pin them again (needs pip-tools).
LOCK_OPTIONS := -q --strip-extras --generate-hashes --allow-unsafe --no-emit-find-links
lock:
	pip-compile $(LOCK_OPTIONS) -o requirements/runtime.txt pyproject.toml
	pip-compile $(LOCK_OPTIONS) --extra dev -o requirements/dev.txt pyproject.toml
	pip-compile $(LOCK_OPTIONS) -o requirements/build.txt requirements/build.in

# DEMO=district loads the demo district of the half-year report (3,452 households) instead of the small demo.
DEMO ?= small
up: $(STAMP)
	@echo "The command line is $(POVERTY) (after 'source $(VENV)/bin/activate': poverty)."
	$(POVERTY) up $(if $(filter-out small,$(DEMO)),--demo $(DEMO))

# The AsyncAPI parser that tests/unit/test_asyncapi.py validates `poverty asyncapi` with: installed from the committed
# lock into tools/asyncapi/node_modules (gitignored), again only when the lock changes. Without npm (node) the test is
# skipped, so `make test` goes on with a note.
ASYNCAPI_TOOLS := tools/asyncapi
ASYNCAPI_STAMP := $(ASYNCAPI_TOOLS)/node_modules/.installed
$(ASYNCAPI_STAMP): $(ASYNCAPI_TOOLS)/package.json $(ASYNCAPI_TOOLS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(ASYNCAPI_TOOLS) && touch $@; \
	else echo "npm not found: the AsyncAPI document is not validated (install node and npm)" >&2; fi

test: $(STAMP) $(ASYNCAPI_STAMP)
	./deploy/local/ensure-postgres.sh
	$(POVERTY) kafka fetch
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy shared services
	$(PYTHON) -m pytest -q --durations=10
