"""The demo class: every student's notebook is the student version with the solutions in place."""

from pathlib import Path

import nbformat

from graders.classroom.demo_class import grade_id, solution_sources, write_solved_class

NOTEBOOK = "00_autograd"


def test_each_student_gets_the_solved_student_notebook_in_nbgraders_layout(tmp_path: Path) -> None:
    root = write_solved_class(tmp_path, ["ada", "bob"], NOTEBOOK)
    assert sorted(path.relative_to(root).as_posix() for path in root.rglob("*.ipynb")) == [
        f"ada/{NOTEBOOK}/{NOTEBOOK}.ipynb",
        f"bob/{NOTEBOOK}/{NOTEBOOK}.ipynb",
    ]
    solved = solution_sources(NOTEBOOK)
    notebook = nbformat.read(root / "ada" / NOTEBOOK / f"{NOTEBOOK}.ipynb", as_version=4)
    filled = {grade_id(cell): cell.source for cell in notebook.cells if grade_id(cell) in solved}
    assert solved and filled == solved
