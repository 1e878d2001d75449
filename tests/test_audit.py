"""The audit's reading of an autograded notebook's dump cell, without running nbgrader."""

import hashlib
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from graders.classroom.audit import NOT_ITS_OWN, dump_findings
from graders.core.dump_record import DUMP_MIME, DumpFacts, dump_facts

LOCKED = {"nbgrader": {"locked": True, "grade_id": "dump-answers", "solution": False, "grade": False}}
WRITTEN = b'{"sum_grads": [1.0, 1.0]}'
SHA = hashlib.sha256(WRITTEN).hexdigest()
LINE = "saved 1 of 6 answers to 00_autograd.answer.json"


def _record(sha256: str = SHA) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/plain": LINE, DUMP_MIME: {"sha256": sha256}})


def _notebook(*outputs: nbformat.NotebookNode, locked: bool = True) -> nbformat.NotebookNode:
    cell = new_code_cell("dump_answers(NOTEBOOK, globals())", metadata=LOCKED if locked else {})
    cell.outputs = list(outputs)
    return new_notebook(cells=[new_code_cell("x = 1"), cell])


def test_a_dump_whose_record_matches_the_graded_file_is_trusted() -> None:
    notebook = _notebook(new_output("stream", name="stderr", text="UserWarning: a library\n"), _record())
    facts = dump_facts(notebook)
    assert facts == DumpFacts(1, "", SHA)
    assert dump_findings(facts, SHA) == []


def test_the_facts_survive_the_trip_through_the_done_record() -> None:
    facts = DumpFacts(1, "RuntimeError", SHA)
    assert DumpFacts.from_mapping(json.loads(facts.to_json())) == facts
    assert DumpFacts.from_mapping(None) is None


@pytest.mark.parametrize(
    ("outputs", "graded_sha", "finding"),
    [
        pytest.param(
            [new_output("error", ename="RuntimeError", evalue="no", traceback=[])],
            SHA,
            "the dump cell failed (RuntimeError)",
            id="the dump failed",
        ),
        pytest.param([], SHA, "the dump cell did not save the answers", id="the dump did nothing"),
        pytest.param(
            [new_output("stream", name="stdout", text=LINE + "\n")],
            SHA,
            "the dump cell did not save the answers",
            id="only the saved line was printed",
        ),
        pytest.param(
            [_record()],
            hashlib.sha256(b"{}").hexdigest(),
            "the answer file differs from the one the dump cell wrote",
            id="a later cell rewrote the file",
        ),
    ],
)
def test_an_answer_file_that_is_not_the_dumps_own_is_flagged(
    outputs: list[nbformat.NotebookNode], graded_sha: str, finding: str
) -> None:
    (found,) = dump_findings(dump_facts(_notebook(*outputs)), graded_sha)
    assert found.startswith(finding) and found.endswith(NOT_ITS_OWN)


def test_a_notebook_without_its_locked_dump_cell_is_flagged() -> None:
    # A record displayed by a cell of the student's own (not the locked dump cell) proves nothing.
    facts = dump_facts(_notebook(_record(), locked=False))
    assert facts.cells == 0
    assert dump_findings(facts, SHA) == [f"the notebook has no dump cell (deleted?), {NOT_ITS_OWN}"]
