"""Session fixtures shared by the tests."""

import pytest

from graders.build import Execution, run_many
from graders.course import solution_notebooks
from graders.paths import answers_dir


@pytest.fixture(scope="session")
def executed_solutions() -> dict[str, Execution | Exception]:
    """Every solution notebook run once in a fresh kernel, against the committed reference answers."""
    return run_many(solution_notebooks(), answers_dir(), jobs=2)
