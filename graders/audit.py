"""Check an autograded submission from outside the student's kernel.

The graded cells' scores are written by graders.preprocessors.ScoreOutsideKernel from the answer file
the kernel left; the audit recomputes that score independently from the gradebook's side, checks that
nbgrader stored it, and reads the notebook's own record for signs that the run was not what it seems.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from graders.preprocessors import cell_grade_id
from graders.saving import find_answer_file
from graders.scoring import Submission, grade_answer_file
from graders.tolerances import SCORE_AGREEMENT

# What graders.notebook.dump_answers prints when it has written the answer file.
DUMP_REPORT = re.compile(r"^saved \d+ of \d+ answers to ", re.MULTILINE)
DUMP_CALL = "dump_answers("
# The error nbgrader's Execute records for a cell that ran past its timeout (Execute.error_on_timeout).
TIMEOUT_ERROR = "CellTimeoutError"


@dataclass(frozen=True)
class Audit:
    """The score recomputed from the answer file, and every finding about the run."""

    recomputed: Submission
    findings: list[str]


def audit_autograded(
    folder: Path, notebook: str, nbgrader_score: float, release: Path, submitted: Path
) -> Audit:
    """Recompute the score of the answer file in `folder` and check the autograded notebook there."""
    answer_file = find_answer_file(folder, notebook)
    recomputed = grade_answer_file(notebook, answer_file)
    findings = []
    if not answer_file.is_file() or answer_file.is_symlink():
        findings.append("the notebook saved no answer file")
    elif recomputed.problem:
        findings.append(recomputed.problem)
    if abs(recomputed.score - nbgrader_score) > SCORE_AGREEMENT:
        findings.append(
            f"score mismatch: nbgrader gave {nbgrader_score:g} but the answer file earns {recomputed.score:g}"
            " (was the gradebook changed by hand?)"
        )
    autograded = nbformat.read(folder / f"{notebook}.ipynb", as_version=4)
    findings += dump_findings(autograded)
    findings += cell_findings(autograded)
    findings += locked_cell_findings(release, submitted)
    return Audit(recomputed, findings)


def dump_findings(autograded: NotebookNode) -> list[str]:
    """The answer file is trustworthy only if the (restored) dump cell ran cleanly and said it saved."""
    dump_cells = [cell for cell in _code_cells(autograded) if _is_locked(cell) and DUMP_CALL in cell.source]
    for cell in dump_cells:
        errors = [output for output in cell.outputs if output.output_type == "error"]
        # stdout alone: a warning on stderr may be flushed between the words of the report line.
        printed = "".join(output.text for output in cell.outputs if output.get("name") == "stdout")
        if errors:
            return [
                f"the dump cell failed ({errors[0].ename}), so the graded answer file is not the notebook's"
            ]
        if not DUMP_REPORT.search(printed):
            return ["the dump cell did not save the answers, so the graded answer file is not the notebook's"]
    return []


def cell_findings(autograded: NotebookNode) -> list[str]:
    """Cells that ran out of time or memory: worth a look even when the student lost the points anyway."""
    findings = []
    for label, cell in _labelled_code_cells(autograded):
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            if output.ename == TIMEOUT_ERROR:
                findings.append(
                    f"cell {label} ran past the time limit and was interrupted (an infinite loop?)"
                )
            elif output.ename == "MemoryError" or "allocate memory" in output.get("evalue", ""):
                findings.append(f"cell {label} ran out of memory under the kernel's limit")
    return findings


def locked_cell_findings(release: Path, submitted: Path) -> list[str]:
    """Locked cells the student edited or deleted; nbgrader restored them before grading."""
    try:
        student = nbformat.read(submitted, as_version=4)
    except Exception:  # an unreadable notebook is reported by the failed autograde, not here
        return []
    claimed = [cell_grade_id(cell) for cell in student.cells if cell_grade_id(cell)]
    theirs = {cell_grade_id(cell): cell.source for cell in student.cells if cell_grade_id(cell)}
    released = nbformat.read(release, as_version=4)
    known = {cell_grade_id(cell) for cell in released.cells}
    findings = [
        f"cell id {grade_id} appears {claimed.count(grade_id)} times (nbgrader kept the last)"
        for grade_id in sorted(set(claimed))
        if claimed.count(grade_id) > 1
    ]
    findings += [
        f"a cell claims grade id {grade_id!r}, which the assignment lacks (graded as an ordinary cell)"
        for grade_id in sorted(set(claimed) - known)
    ]
    for cell in released.cells:
        if not _is_locked(cell):
            continue
        grade_id = cell_grade_id(cell)
        if grade_id not in theirs:
            findings.append(f"locked cell {grade_id} was deleted (nbgrader restored it)")
        elif theirs[grade_id] != cell.source:
            findings.append(f"locked cell {grade_id} was edited (nbgrader restored it)")
    return findings


def _code_cells(notebook: NotebookNode) -> Iterator[NotebookNode]:
    return (cell for cell in notebook.cells if cell.cell_type == "code")


def _labelled_code_cells(notebook: NotebookNode) -> Iterator[tuple[str, NotebookNode]]:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            yield cell_grade_id(cell) or f"#{index + 1}", cell


def _is_locked(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))
