"""A student who runs a notebook as released, every stub still raising, meets only one-line advice.

Each student notebook runs top to bottom in a fresh kernel, every cell even after errors, in a scratch copy
of notebooks/. Every error a cell shows must be a stub's NotImplementedError or a skipped task's NameError,
shown as the single line of graders.core.student's handler; an IndexError, TypeError or the like from inside a
helper or a plot means a later cell does not yet say what is missing.
"""

import re

import pytest

from graders.classroom.notebook_runs import Execution, run_many
from graders.core.paths import NOTEBOOKS_DIR, answers_dir
from graders.core.student import _explain

# Every test here executes the released notebooks.
pytestmark = pytest.mark.slow

RELEASED = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
EXPLAINED = {"NameError", "NotImplementedError"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNWRITTEN = re.compile(r"`(\w+)` is not written yet")


@pytest.fixture(scope="module")
def released_runs() -> dict[str, Execution | Exception]:
    """Every student notebook run once as released (stubs make it quick), two at a time."""
    return run_many(RELEASED, answers_dir(), jobs=2, allow_errors=True, copy_of=NOTEBOOKS_DIR)


class RecordingShell:
    """Stands in for IPython's shell: keeps the traceback lines the handler asks it to show."""

    def _showtraceback(self, etype: type, value: BaseException, lines: list[str]) -> None:
        self.shown = lines


def handler_line(error: BaseException) -> str:
    """What graders.core.student's handler shows for error: its one advice line, without colour."""
    shell = RecordingShell()
    _explain(shell, type(error), error, error.__traceback__)
    [line] = shell.shown
    return ANSI.sub("", line)


def stub_error(function: str | None) -> NotImplementedError:
    """A stub's error as raised inside the function of that name, or at a cell's top level for None."""
    stub = "raise NotImplementedError()"
    code = f"def {function}():\n    {stub}\n{function}()" if function else stub
    try:
        exec(code, {})
    except NotImplementedError as error:
        return error
    raise AssertionError("the stub did not raise")


def expected_line(output: dict) -> str:
    """The handler's line for a NameError or NotImplementedError output (the function a stub sits in is
    read off the line shown, so that a wrong rest of the line still fails)."""
    if output["ename"] == "NameError":
        return handler_line(NameError(output["evalue"]))
    unwritten = UNWRITTEN.match(ANSI.sub("", "".join(output["traceback"])))
    return handler_line(stub_error(unwritten.group(1) if unwritten else None))


def test_the_course_releases_notebooks() -> None:
    assert "00_autograd" in [path.stem for path in RELEASED]


@pytest.mark.parametrize("name", [path.stem for path in RELEASED])
def test_a_released_notebook_shows_only_advice_for_its_skipped_tasks(name: str, released_runs: dict) -> None:
    run = released_runs[name]
    assert not isinstance(run, Exception), f"{name} could not be run to the end: {run}"
    code = [cell for cell in run.notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), f"{name}: not every cell ran"
    errors = [(cell.id, output) for cell in code for output in cell.outputs if output.output_type == "error"]
    assert any(output.ename == "NotImplementedError" for _, output in errors), f"{name}: no stub raised"
    for cell_id, output in errors:
        shown = ANSI.sub("", "".join(output.traceback))
        where = f"{name}, cell {cell_id}: {output.ename}: {output.evalue}\n{shown}"
        assert output.ename in EXPLAINED, f"an error from inside the code, not advice; {where}"
        one_line = len(output.traceback) == 1
        assert one_line and shown == expected_line(output), f"not the handler's advice line; {where}"
