"""solutions/ is the one source: every solution runs clean; notebooks/ and answers/ match what it makes."""

import json
import re
from collections.abc import Callable

import nbformat
import pytest
from nbgrader.utils import determine_grade, is_grade, is_solution

from graders.classroom.course import solution_notebooks
from graders.classroom.notebook_runs import Execution
from graders.core.paths import NOTEBOOKS_DIR, answers_dir
from graders.core.specs import specs_for
from graders.publishing.build import stale_answers, stale_student_notebooks

NOTEBOOKS = [path.stem for path in solution_notebooks()]
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)
GRADE_CALL = re.compile(r"^grade\(NOTEBOOK((?:, \"\w+\")+)\)$", re.MULTILINE)


def test_the_course_has_notebooks() -> None:
    assert "00_autograd" in NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_runs_in_a_fresh_kernel_and_reproduces_its_answers(
    name: str, executed_solutions: dict
) -> None:
    run = executed_solutions[name]
    assert not isinstance(run, Exception), f"{name} failed to execute: {run}"
    assert stale_answers({name: run}) == []


def _rounded_elsewhere(answers: dict) -> None:
    """What another CPU's float32 kernels give: the last bits of one loss differ (seen: AVX2 vs AVX-512)."""
    answers["fn_history_4"][1] *= 1 + 2e-7


def _real_change(answers: dict) -> None:
    answers["fn_history_4"][1] *= 1.01


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        (_rounded_elsewhere, False),
        (_real_change, True),
        (lambda answers: answers.pop("theta_optimiser"), True),
        (lambda answers: answers.update(extra_key=1.0), True),
    ],
    ids=["cpu-rounding", "changed-value", "lost-key", "new-key"],
)
def test_answers_are_fresh_within_rounding_and_stale_beyond(
    change: Callable[[dict], object], stale: bool
) -> None:
    name = "02_torch_optim"
    answers = json.loads((answers_dir() / f"{name}.json").read_bytes())
    change(answers)
    problems = stale_answers({name: Execution(nbformat.v4.new_notebook(), json.dumps(answers).encode())})
    assert problems == ([f"answers/{name}.json is stale: run `make answers`"] if stale else [])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_graded_cell_of_a_solution_earns_full_points(name: str, executed_solutions: dict) -> None:
    run = executed_solutions[name]
    assert not isinstance(run, Exception), f"{name} failed to execute: {run}"
    graded = [cell for cell in run.notebook.cells if is_grade(cell) and not is_solution(cell)]
    assert graded, f"{name} has no graded test cells"
    for cell in graded:
        earned, possible = determine_grade(cell)
        assert earned == possible, f"{cell.metadata.nbgrader.grade_id}: {earned}/{possible}\n{cell.outputs}"


@pytest.mark.slow  # runs nbgrader generate_assignment on every notebook
def test_student_notebooks_are_what_nbgrader_makes_of_the_solutions_now() -> None:
    assert stale_student_notebooks(solution_notebooks()) == []


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_notebook_has_the_stub_and_none_of_the_solution(name: str) -> None:
    solution = nbformat.read(solution_notebooks()[NOTEBOOKS.index(name)], as_version=4)
    student = {cell.id: cell for cell in nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4).cells}
    solution_cells = [cell for cell in solution.cells if is_solution(cell)]
    assert solution_cells, f"{name} has no solution cells"
    for cell in solution_cells:
        released = student[cell.id].source
        assert "# YOUR CODE HERE" in released and "raise NotImplementedError()" in released, cell.id
        assert "BEGIN SOLUTION" not in released
        for region in SOLUTION_REGION.findall(cell.source):
            hidden = [line.strip() for line in region.splitlines() if len(line.strip()) > 3]
            assert hidden and not [line for line in hidden if line in released], cell.id


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_graded_cells_grade_every_spec_key_once_for_its_points(name: str) -> None:
    notebook = nbformat.read(solution_notebooks()[NOTEBOOKS.index(name)], as_version=4)
    specs = specs_for(name)
    graded_keys = []
    for cell in notebook.cells:
        if is_grade(cell) and not is_solution(cell):
            call = GRADE_CALL.search(cell.source)
            assert call, f"{cell.metadata.nbgrader.grade_id} does not call grade(NOTEBOOK, ...)"
            keys = re.findall(r'"(\w+)"', call.group(1))
            assert cell.metadata.nbgrader.points == sum(specs[key].points for key in keys), keys
            graded_keys += keys
    assert sorted(graded_keys) == sorted(specs), "every spec key graded by exactly one cell"
    assert "dump_answers(NOTEBOOK, globals())" in "".join(cell.source for cell in notebook.cells)
