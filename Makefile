# rhinoapp: two commands on a fresh Debian 12 machine.
#   make run    create .venv, install rhinoapp, serve the app at http://127.0.0.1:5006 (signed sessions: the
#               secret is made once in the data directory, <data_dir>/session-secret, mode 0600)
#   make test   install everything the tests need (Debian packages too, as root), lint (ruff, mypy), run pytest
#   make test-fast  the unit tests only (no browser, notebook, Slurm or slow end-to-end runs), for development
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: run test test-fast lint install install-dev system-deps constraints benchmarks validation-deps validation clean

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap-python.sh
	bash scripts/bootstrap-python.sh "$(PYTHON)" "$(VENV)"
	$(PIP) install -q -c constraints.txt -e .
	touch $@

install: $(STAMP)

run: $(STAMP)
	bash scripts/install-system-deps.sh runtime
	$(BIN)/rhinoapp serve

$(DEV_STAMP): $(STAMP)
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

install-dev: $(DEV_STAMP)

system-deps:
	bash scripts/install-system-deps.sh test

# Static checks: ruff (rules in pyproject.toml) and mypy (strict on core and the domain packages).
lint: $(DEV_STAMP)
	$(BIN)/ruff check rhinoapp tests benchmarks
	$(BIN)/mypy

# As root, the tests get a real single-node Slurm cluster (started here, stopped at the end if
# this run started it); without root the Slurm tests are skipped with the reason.
test: lint system-deps
	@started=0; \
	if [ "$$(id -u)" = 0 ] && ! bash scripts/slurm-dev-cluster.sh status >/dev/null 2>&1; then \
	  bash scripts/slurm-dev-cluster.sh start && started=1; \
	fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$started = 1 ]; then bash scripts/slurm-dev-cluster.sh stop; fi; \
	exit $$rc

# The unit tests for development: no browser, notebook, Slurm or slow end-to-end runs (under two
# minutes on two cores); starts no cluster and installs no system packages.
FAST_MARKERS := not browser and not notebook and not slurm and not slow
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

benchmarks: $(STAMP)
	$(PIP) install -q -c constraints.txt -e '.[bench]'
	for script in benchmarks/*.py; do $(BIN)/python "$$script" || exit 1; done

# Validation against OpenFOAM and the grid-convergence study (docs/validation.md); not part of `make test`.
# validation-deps installs Debian's OpenFOAM (v1912, as root); validation reruns both studies (tens of minutes).
validation-deps:
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y openfoam; else sudo apt-get install -y openfoam; fi

validation: $(STAMP) validation-deps
	PYTHONPATH=$(CURDIR) $(BIN)/python validation/openfoam_compare.py --out docs/validation
	PYTHONPATH=$(CURDIR) $(BIN)/python validation/grid_convergence.py --out docs/validation

# Re-resolve the pinned versions (run on Python 3.11) after changing dependencies.
constraints:
	rm -rf .constraints-venv && $(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install -q -e '.[dev,bench]'
	(echo '# Exact versions resolved on Python 3.11 (Debian 12, x86_64). Regenerate with `make constraints`.'; \
	 .constraints-venv/bin/pip freeze --all --exclude-editable | grep -v '^pip==') > constraints.txt
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) test-output .pytest_cache
