"""Session fixtures shared by the tests."""

import fcntl
import os
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.classroom.course import solution_notebooks
from graders.classroom.notebook_runs import Execution, run_many
from graders.core.paths import answers_dir

# The hidden instances every notebook's tests also solve (graders.core.instances); 0 is the public one.
TEST_INSTANCES = (1, 2)

# Fixtures that execute every solution notebook or start Chromium: a test asking for one, even through
# another fixture, is slow wherever it lives.
SLOW_FIXTURES = frozenset({"executed_solutions", "executed_instances", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that needs one of SLOW_FIXTURES (modules mark their other slow tests)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def executed_solutions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Execution | Exception]:
    """Every solution notebook run once per test run in a fresh kernel, against the committed answers."""
    return _shared_once(request, tmp_path_factory, "executed_solutions", _run_solutions)


@pytest.fixture(scope="session")
def executed_instances(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, int], Execution | Exception]:
    """Every solution notebook run once per test run on each of TEST_INSTANCES, with no reference present:
    its answer file is that instance's reference, as the class grader makes it."""
    return _shared_once(request, tmp_path_factory, "executed_instances", _run_instances)


def _shared_once(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str, run: Any
) -> Any:
    """run() once per test run: `make test` spreads modules over xdist workers (--dist loadfile), and the
    first worker to ask leaves the result in the run's shared temporary folder for the others.
    The quick loop (-m "not slow") never runs the notebooks: a test that asks there is missing its mark."""
    if request.config.option.markexpr.strip() == "not slow":
        pytest.fail(f"a test outside the slow ones asked for {name}: mark it slow (CONTRIBUTING)")
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return run()
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above every worker's own
    result = shared / f"{name}.pickle"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            result.write_bytes(pickle.dumps(run()))
    return pickle.loads(result.read_bytes())


def chosen_solutions() -> list[Path]:
    """The solution notebooks the session fixtures run: all, or those GRADERS_TEST_NOTEBOOKS names
    (comma-separated, e.g. 00_autograd,05_matrix_inverse) for a quick loop on a few notebooks."""
    names = [name for name in os.environ.get("GRADERS_TEST_NOTEBOOKS", "").split(",") if name]
    return [path for path in solution_notebooks() if not names or path.stem in names]


def _run_solutions() -> dict[str, Execution | Exception]:
    return _picklable(run_many(chosen_solutions(), answers_dir(), jobs=2))


def _run_instances() -> dict[tuple[str, int], Execution | Exception]:
    runs = {}
    with tempfile.TemporaryDirectory(prefix="no-reference-") as empty:
        for instance in TEST_INSTANCES:
            executed = run_many(chosen_solutions(), Path(empty), jobs=2, instance=instance)
            runs |= {(name, instance): run for name, run in _picklable(executed).items()}
    return runs


def _picklable(runs: dict[str, Execution | Exception]) -> dict[str, Execution | Exception]:
    # An error is kept as its message: not every exception nbclient raises survives pickling.
    return {
        name: RuntimeError(f"{type(run).__name__}: {run}") if isinstance(run, Exception) else run
        for name, run in runs.items()
    }


CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium reaches out at start-up, and a sandbox refuses it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; skipped where there is none, except in CI, where `make test` installs it."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("the playwright package (run `make setup`)")
    if not CHROMIUM.exists():
        missing.append(
            f"Chromium at {CHROMIUM} (`apt-get install chromium`; `make test` does it when CI is set)"
        )
    if missing:
        reason = "the browser check needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
