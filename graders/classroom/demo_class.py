"""A demo class: student notebooks completed from the solutions, in nbgrader's submitted layout.

Instructors try the class grader on it; the benchmark and the tests build their classes from it.
"""

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from graders.classroom.course import solution_notebooks
from graders.core.paths import NOTEBOOKS_DIR


def solution_sources(notebook: str) -> dict[str, str]:
    """Source of each solution cell of the solution notebook, by grade_id."""
    path = next(path for path in solution_notebooks() if path.stem == notebook)
    solution = nbformat.read(path, as_version=4)
    return {grade_id(cell): cell.source for cell in solution.cells if _nbgrader(cell).get("solution")}


def student_notebook(
    notebook: str,
    cells: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    blank: bool = False,
) -> NotebookNode:
    """The student version, completed with the solutions (unless blank), some cells replaced or dropped."""
    node = nbformat.read(NOTEBOOKS_DIR / f"{notebook}.ipynb", as_version=4)
    sources = {} if blank else solution_sources(notebook)
    sources.update(cells or {})
    for cell in node.cells:
        if grade_id(cell) in sources:
            cell.source = sources[grade_id(cell)]
    node.cells = [cell for cell in node.cells if grade_id(cell) not in drop]
    return node


def write_solved_class(root: Path, student_ids: list[str], notebook: str) -> Path:
    """root/<student>/<notebook>/<notebook>.ipynb, each the solved student version (nbgrader's layout)."""
    solved = student_notebook(notebook)
    for student_id in student_ids:
        folder = root / student_id / notebook
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(solved, folder / f"{notebook}.ipynb")
    return root


def grade_id(cell: NotebookNode) -> str:
    """The cell's nbgrader grade_id, or "" for a cell nbgrader does not track."""
    return _nbgrader(cell).get("grade_id", "")


def _nbgrader(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})
