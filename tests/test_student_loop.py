"""The student's loop around answers (issue 17 item 4): a stale answer file is named as such, nbgrader
Validate names the tasks still to do, and a student's odd value never makes a locked cell raise."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from class_fixture import NOTEBOOK, solution_sources, student_notebook

from graders.classroom.notebook_runs import execute
from graders.core.loader import load_answers
from graders.core.paths import answers_dir
from graders.core.specs import specs_for
from graders.core.student import STALE, check, dump_answers

# Every test here executes a notebook.
pytestmark = pytest.mark.slow


def _outputs(cell: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in cell.outputs
    )


def _by_grade_id(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {
        cell.metadata.nbgrader.grade_id: _outputs(cell)
        for cell in notebook.cells
        if cell.cell_type == "code" and "nbgrader" in cell.metadata
    }


def test_a_graded_cell_says_when_the_answer_file_is_older_than_the_work(tmp_path: Path) -> None:
    """The student fixed task 1 after saving: its graded cell asks for a new save, the others grade."""
    node = student_notebook()
    dump = next(
        i
        for i, cell in enumerate(node.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "dump-answers"
    )
    node.cells.insert(dump + 1, nbformat.v4.new_code_cell("sum_grads = [x.grad * 3, y.grad * 3]"))
    nbformat.write(node, tmp_path / f"{NOTEBOOK}.ipynb")
    shown = _by_grade_id(execute(tmp_path / f"{NOTEBOOK}.ipynb", answers_dir()).notebook)
    assert STALE in shown["test-sum-grads"]
    others = [grade_id for grade_id in shown if grade_id.startswith("test-") and grade_id != "test-sum-grads"]
    assert others and all(STALE not in shown[grade_id] and "✗" not in shown[grade_id] for grade_id in others)


def _validate(folder: Path, node: nbformat.NotebookNode, answers: Path | None = None) -> str:
    path = folder / f"{NOTEBOOK}.ipynb"
    nbformat.write(node, path)
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(path)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GRADERS_ANSWERS_DIR": str(answers or answers_dir())},
    )
    return run.stdout + run.stderr


@pytest.mark.parametrize("done", [(), ("sum-grads", "x-grad")], ids=["untouched", "half done"])
def test_validate_names_the_tasks_still_to_do(tmp_path: Path, done: tuple[str, ...]) -> None:
    solved = solution_sources()
    output = _validate(tmp_path, student_notebook(cells={key: solved[key] for key in done}, blank=True))
    to_do = {"sum_grads": "sum-grads", "X_grad": "x-grad", "graph_path": "graph-path"}
    for key, task in to_do.items():
        named = f"still to do: its task cell has not defined {key}" in output
        assert named == (task not in done), (key, output[-3000:])
    assert "Partial credit" not in output


def test_without_reference_answers_validate_passes_a_finished_notebook(tmp_path: Path) -> None:
    """A class that keeps the answers private: Validate cannot judge the values, so it asks only that
    every task is done and saved, instead of calling each graded cell a failure."""
    (tmp_path / "private").mkdir()
    output = _validate(tmp_path, student_notebook(), answers=tmp_path / "private")
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]


def test_a_value_that_cannot_be_stored_is_named_never_raised(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    check(NOTEBOOK, sum_grads={1.0})
    dump_answers(NOTEBOOK, {"sum_grads": {1.0}, "graph_path": ["AccumulateGrad"]})
    printed = capsys.readouterr().out
    assert "✗ sum_grads: sum_grads is a set, which cannot be graded" in printed
    assert f"saved 1 of {len(specs_for(NOTEBOOK))} answers" in printed and "not saved: sum_grads" in printed
    assert load_answers(tmp_path / f"{NOTEBOOK}.answer.json") == {"graph_path": ["AccumulateGrad"]}
