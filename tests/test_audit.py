"""The audit's reading of an autograded notebook, without running nbgrader."""

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from graders.audit import dump_findings

LOCKED = {"nbgrader": {"locked": True, "grade_id": "dump", "solution": False, "grade": False}}


def _dumped(*outputs: tuple[str, str]) -> nbformat.NotebookNode:
    cell = new_code_cell("dump_answers(globals(), NOTEBOOK)", metadata=LOCKED)
    cell.outputs = [new_output("stream", name=name, text=text) for name, text in outputs]
    return new_notebook(cells=[cell])


def test_a_saved_report_is_trusted_even_when_stderr_lands_inside_it() -> None:
    # ipykernel flushes each stream on its own timer, so a warning's newline can arrive after stdout.
    notebook = _dumped(
        ("stderr", "UserWarning: a library complains"),
        ("stdout", "saved 5 of 5 answers to 00_autograd.answer.json\n"),
        ("stderr", "\n"),
    )
    assert dump_findings(notebook) == []


def test_a_dump_cell_that_printed_no_report_is_flagged() -> None:
    notebook = _dumped(("stderr", "saved 5 of 5 answers to 00_autograd.answer.json\n"))
    assert dump_findings(notebook) == [
        "the dump cell did not save the answers, so the graded answer file is not the notebook's"
    ]
