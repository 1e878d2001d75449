# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
# constraints.txt holds torch at 2.13.0 for every install, so no dependency can upgrade it.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt
JOBS ?= 2

.PHONY: setup demo test lint student answers executed check-generated clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

## Regenerate everything derived from solutions/ and grade the sample submission.
demo: setup
	$(BIN)/python -m graders.build answers --jobs $(JOBS)
	$(BIN)/python -m graders.build student
	$(BIN)/python -m graders grade examples/sample_submission

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check graders tests
	$(BIN)/ruff format --check graders tests
	$(BIN)/nbqa ruff solutions

student: setup
	$(BIN)/python -m graders.build student

answers: setup
	$(BIN)/python -m graders.build answers --jobs $(JOBS)

executed: setup
	$(BIN)/python -m graders.build executed --jobs $(JOBS)

check-generated: setup
	$(BIN)/python -m graders.build check --jobs $(JOBS)

clean:
	rm -rf build .pytest_cache .ruff_cache
