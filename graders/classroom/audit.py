"""Check an autograded submission from outside the student's kernel.

The graded cells' scores are written by graders.classroom.preprocessors.ScoreOutsideKernel from the answer
file
the kernel left; the audit recomputes that score independently from the gradebook's side, checks that
nbgrader stored it, and reads the notebook's own record for signs that the run was not what it seems.
"""

import errno
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_locked

from graders.classroom.preprocessors import cell_grade_id
from graders.core.answer_files import find_answer_file
from graders.core.dump_record import DumpFacts, dump_facts, file_sha256
from graders.core.scoring import Submission, grade_answer_file
from graders.core.tolerances import SCORE_AGREEMENT

# The error nbgrader's Execute records for a cell that ran past its timeout (Execute.error_on_timeout).
TIMEOUT_ERROR = "CellTimeoutError"
# A cell that asks for more than the kernel's address space (RLIMIT_AS) gets MemoryError from Python and
# numpy. torch's CPU allocator has no error type of its own: it raises RuntimeError and records the errno the
# allocation returned, "Error code 12 (Cannot allocate memory)", the one fact it leaves (tests/test_audit.py
# provokes it). What the kernel's control group stopped is the row's limit finding (sandbox.limits_hit).
MEMORY_ERROR = "MemoryError"
ALLOCATOR_ERROR = ("RuntimeError", f"Error code {errno.ENOMEM} ({os.strerror(errno.ENOMEM)})")
NOT_ITS_OWN = "so the graded answer file is not the notebook's own"


@dataclass(frozen=True)
class Audit:
    """The score recomputed from the answer file, and every finding about the run."""

    recomputed: Submission
    findings: list[str]


def audit_autograded(
    folder: Path,
    notebook: str,
    nbgrader_score: float,
    release: Path,
    submitted: Path,
    reference: Mapping[str, Any] | None = None,
    dump: DumpFacts | None = None,
) -> Audit:
    """Recompute the score of the answer file in `folder` against `reference` (the instance's the
    submission was graded on; default the public one) and check the autograded notebook there.

    `dump` is what ScoreOutsideKernel read of the dump cell; without it, it is read from the notebook.
    """
    answer_file = find_answer_file(folder, notebook)
    recomputed = grade_answer_file(notebook, answer_file, reference)
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
    findings += dump_findings(dump or dump_facts(autograded), file_sha256(answer_file))
    findings += cell_findings(autograded)
    findings += locked_cell_findings(release, submitted)
    return Audit(recomputed, findings)


def dump_findings(facts: DumpFacts, answer_sha256: str) -> list[str]:
    """The answer file is the notebook's own only if the locked dump cell ran cleanly, left its record,
    and the graded file is the one that record describes."""
    if facts.cells == 0:
        return [f"the notebook has no dump cell (deleted?), {NOT_ITS_OWN}"]
    if facts.error:
        return [f"the dump cell failed ({facts.error}), {NOT_ITS_OWN}"]
    if not facts.sha256:
        return [
            "the dump cell did not save the answers (no record of a dump: replaced, skipped or only"
            f" printed its line), {NOT_ITS_OWN}"
        ]
    if answer_sha256 and answer_sha256 != facts.sha256:
        return [f"the answer file differs from the one the dump cell wrote (rewritten later?), {NOT_ITS_OWN}"]
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
            elif _out_of_memory(output):
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
        if not is_locked(cell):
            continue
        grade_id = cell_grade_id(cell)
        if grade_id not in theirs:
            # nbgrader puts back graded cells only; any other deleted locked cell did not run.
            restored = "nbgrader restored it" if is_grade(cell) else "not run"
            findings.append(f"locked cell {grade_id} was deleted ({restored})")
        elif theirs[grade_id] != cell.source:
            findings.append(f"locked cell {grade_id} was edited (nbgrader restored it)")
    return findings


def _labelled_code_cells(notebook: NotebookNode) -> Iterator[tuple[str, NotebookNode]]:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            yield cell_grade_id(cell) or f"#{index + 1}", cell


def _out_of_memory(error: NotebookNode) -> bool:
    """Whether an error output is an allocation the kernel's memory limit refused."""
    ename, errno_text = ALLOCATOR_ERROR
    return error.ename == MEMORY_ERROR or (error.ename == ename and errno_text in error.get("evalue", ""))
