# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
# constraints.txt holds torch at 2.13.0 for every install, so no dependency can upgrade it.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt
# Kernels run at once: nbgrader_config.py's c.ClassGrader.jobs, unless given as JOBS=N (make answers JOBS=4).
JOBS_FLAG = $(if $(JOBS),--jobs $(JOBS))
# PyTorch's CPU wheels by default: on Linux the public index's torch pulls several GB of CUDA packages.
# For a GPU: TORCH_INDEX=https://download.pytorch.org/whl/cu128 make setup (the pin stays 2.13.0).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: setup sandbox-tool demo test test-fast lint student answers executed check-generated clean site wheel regenerate browser postgres grade bench

setup: $(STAMP)

# nbgrader's instructor plugins and the menu that opens them; the Validate button stays. Their server side
# stays on (tests/test_inert.py opens formgrader's pages by URL).
INSTRUCTOR_PLUGINS := @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment \
	@jupyter/nbgrader:course-list @jupyter/nbgrader:assignment-list @jupyter/nbgrader:menu
# The course's JupyterLab settings, as defaults for every user of the venv (JupyterLab's overrides.d).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d
LAB_SETTINGS := {"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}

# The pins (torch 2.13.0's wheels among them) are tested on this Python only (the package alone needs 3.11+):
# another one is refused before anything is installed, and a .venv made by another Python is rebuilt.
SUPPORTED_PYTHON := 3.11
PYTHON_VERSION := import sys; print("%d.%d" % sys.version_info[:2])

$(STAMP): pyproject.toml constraints.txt
	@found=$$($(PYTHON) -c '$(PYTHON_VERSION)' 2>/dev/null) || found="not found"; \
	if [ "$$found" != "$(SUPPORTED_PYTHON)" ]; then \
		echo "error: the course needs Python $(SUPPORTED_PYTHON), and PYTHON=$(PYTHON) is $$found:" \
			"install Python $(SUPPORTED_PYTHON) or name it, e.g. make PYTHON=/usr/bin/python$(SUPPORTED_PYTHON)"; \
		exit 2; fi
	@if [ -e $(VENV) ] && [ "$$($(BIN)/python -c '$(PYTHON_VERSION)' 2>/dev/null)" != "$(SUPPORTED_PYTHON)" ]; then \
		echo "note: $(VENV) is broken or made by another Python: removing it and building it again"; \
		rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -z "$$(ls $(VENV)/.installed-* 2>/dev/null)" || echo "note: pyproject.toml or constraints.txt changed: updating $(VENV)"
	$(PIP) --extra-index-url $(TORCH_INDEX) torch==2.13.0
	@# The package was called `graders` before it got a name of its own: that old install would shadow it.
	@$(BIN)/pip uninstall --quiet --yes graders 2>/dev/null || true
	$(PIP) -e '.[classroom,dev]'
	@# jsonschema's optional IRI check (rfc3987-syntax, via jupyter-events' jsonschema[format-nongpl]) builds
	@# 38 lark grammars on import, ≈1 s of every nbgrader start; nothing here validates IRIs (pip check stays clean).
	@$(BIN)/pip uninstall --quiet --yes rfc3987-syntax lark
	@# The students' JupyterLab hides nbgrader's instructor tools; docs/instructor-guide.md enables them.
	$(BIN)/jupyter labextension disable --level=sys_prefix $(INSTRUCTOR_PLUGINS) >/dev/null 2>&1
	@# Widget state saved with each notebook: 08's playground, reopened, shows its sliders, not "model not found".
	@mkdir -p $(LAB_OVERRIDES) && echo '$(LAB_SETTINGS)' > $(LAB_OVERRIDES)/gd-torch-course.json
	@rm -f $(VENV)/.installed-*
	@touch $@

## Regenerate everything derived from solutions/ and grade the sample submission.
demo: setup
	$(BIN)/python -m graders.publishing.build answers $(JOBS_FLAG)
	$(BIN)/python -m graders.publishing.build student
	$(BIN)/python -m graders grade examples/sample_submission

# Two workers, each module on one (its class is graded once); modules share only executed_solutions (conftest).
TEST_WORKERS ?= 2
test: setup browser sandbox-tool postgres
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The quick loop: unit and spec tests only, no notebook run, nbgrader, sandbox, Postgres or browser (CONTRIBUTING).
test-fast: setup
	$(BIN)/python -m pytest -p no:xdist -m "not slow" -q

# CI must really run the site's browser check (tests/test_site.py), so it gets Debian's Chromium there;
# elsewhere that test skips, saying what is missing.
browser:
	@if [ -n "$$CI" ] && [ ! -x /usr/bin/chromium ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

# The distributed test (tests/test_distributed.py) grades into a real Postgres server it starts: CI, or root
# with apt-get, gets Debian's postgresql; elsewhere that test skips, saying what is missing.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		if [ -n "$$CI" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; }; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
		else echo "note: the Postgres gradebook test needs postgresql: sudo apt-get install postgresql"; fi; }

# Class grading runs every student's kernel in bubblewrap (docs/grading.md) and refuses to run without it:
# where we may (root with apt-get, as in CI) the Makefile installs Debian's package, elsewhere it says how.
sandbox-tool:
	@command -v bwrap >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap; \
		else echo "note: class grading needs bubblewrap: sudo apt-get install bubblewrap (or --no-sandbox)"; fi; }

lint: setup
	$(BIN)/ruff check graders tests bench nbgrader_config.py
	$(BIN)/ruff format --check graders tests bench nbgrader_config.py
	$(BIN)/nbqa ruff solutions
	$(BIN)/nbstripout --keep-id --verify solutions/*.ipynb notebooks/*.ipynb

student: setup
	$(BIN)/python -m graders.publishing.build student

answers: setup
	$(BIN)/python -m graders.publishing.build answers $(JOBS_FLAG)

executed: setup
	$(BIN)/python -m graders.publishing.build executed $(JOBS_FLAG)

## The course package as a wheel in build/wheel/: what a notebook run on its own installs from the site.
wheel: setup
	rm -rf build/setuptools build/wheel
	$(BIN)/pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w build/wheel .

## The course site in build/site/: every solution run with its outputs, an index, student downloads, the
## wheel. Its public address goes into the downloadable notebooks: make site SITE_URL=https://…/
SITE_URL ?=
site: executed wheel
	$(BIN)/python -m graders.publishing.site $(if $(SITE_URL),--site-url "$(SITE_URL)")

## After changing solutions/: student notebooks and reference answers, then the site checked against them.
regenerate: student answers
	$(MAKE) site

## Grade a class with nbgrader: make grade SUBMISSIONS=DIR-or-zip [JOBS=N] [ROSTER=roster.csv] (docs/grading.md);
## without JOBS, c.ClassGrader.jobs of nbgrader_config.py
grade: setup sandbox-tool
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR [JOBS=N] [ROSTER=csv]"; exit 2; }
	$(BIN)/python -m graders class "$(SUBMISSIONS)" $(JOBS_FLAG) $(if $(ROSTER),--roster "$(ROSTER)")

## Measure grading speed and memory on this machine into bench/results.md (not a test; every figure from one
## run, best on a quiet machine). make bench BENCH_ARGS=--quick checks the script end to end (2 notebooks).
bench: setup sandbox-tool
	$(BIN)/python bench/run.py $(BENCH_ARGS)

check-generated: setup
	$(BIN)/python -m graders.publishing.build check $(JOBS_FLAG)

clean:
	rm -rf build .pytest_cache .ruff_cache
