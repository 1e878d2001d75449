"""Session fixtures shared by the tests."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graders.build import Execution, run_many
from graders.course import solution_notebooks
from graders.paths import answers_dir


@pytest.fixture(scope="session")
def executed_solutions() -> dict[str, Execution | Exception]:
    """Every solution notebook run once in a fresh kernel, against the committed reference answers."""
    return run_many(solution_notebooks(), answers_dir(), jobs=2)


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist, keep each module on one worker (module fixtures grade whole classes) and the two
    modules that share the session's run of every solution together, so nothing heavy runs twice."""
    for item in items:
        module = item.path.stem
        group = "executed_solutions" if module in {"test_site", "test_generated"} else module
        item.add_marker(pytest.mark.xdist_group(group))
