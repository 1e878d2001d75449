"""The audit's reading of an autograded notebook, without running nbgrader: the dump cell's record, the errors
its cells recorded, and its locked cells."""

import errno
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from graders.classroom.audit import NOT_ITS_OWN, cell_findings, dump_findings, locked_cell_findings
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


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return new_output("error", ename=ename, evalue=evalue, traceback=[])


def _cell_with(output: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = new_code_cell("x = f()", metadata={"nbgrader": {"grade_id": "task", "solution": True}})
    cell.outputs = [output]
    return new_notebook(cells=[cell])


def _torch_allocation_error() -> nbformat.NotebookNode:
    """The error output of a torch allocation past the address-space limit, as the pinned torch raises it."""
    script = (
        "import resource, torch\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31))\n"
        "try:\n    torch.empty(2**32)\n"
        "except BaseException as error:\n    print(type(error).__name__)\n    print(error)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    ename, evalue = run.stdout.split("\n", 1)
    return _error(ename, evalue.strip())


@pytest.mark.parametrize(
    ("output", "finding"),
    [
        pytest.param(_error("CellTimeoutError", ""), "cell task ran past the time limit", id="timeout"),
        pytest.param(_error("MemoryError", ""), "cell task ran out of memory", id="numpy's MemoryError"),
        pytest.param(None, "cell task ran out of memory", id="torch's allocator under RLIMIT_AS"),
    ],
)
def test_a_cell_stopped_by_a_kernel_limit_is_flagged(
    output: nbformat.NotebookNode | None, finding: str
) -> None:
    (found,) = cell_findings(_cell_with(output or _torch_allocation_error()))
    assert found.startswith(finding)


@pytest.mark.parametrize(
    "output",
    [
        # The cell's own words are no fact: a student's error that talks about memory is just an error.
        _error("RuntimeError", "could not allocate memory for the cache"),
        _error("ValueError", f"Error code {errno.ENOMEM} ({os.strerror(errno.ENOMEM)})"),
        new_output("stream", name="stderr", text="MemoryError: CellTimeoutError\n"),
    ],
    ids=["prose about memory", "an errno in another error", "printed error names"],
)
def test_an_ordinary_error_or_printed_text_is_no_limit_finding(output: nbformat.NotebookNode) -> None:
    assert cell_findings(_cell_with(output)) == []


def _graded_notebook(sources: dict[str, str], locked: set[str], graded: set[str]) -> nbformat.NotebookNode:
    cells = []
    for grade_id, source in sources.items():
        grade = grade_id in graded
        metadata = {"grade_id": grade_id, "locked": grade_id in locked, "solution": False, "grade": grade}
        cells.append(
            new_code_cell(source, metadata={"nbgrader": metadata | ({"points": 1} if grade else {})})
        )
    return new_notebook(cells=cells)


def test_edited_and_deleted_locked_cells_are_flagged_and_the_students_own_cells_are_not(
    tmp_path: Path,
) -> None:
    released = {"setup": "import torch", "task": "x = None", "test-task": "grade()", "dump": "dump()"}
    locked, graded = {"setup", "test-task", "dump"}, {"test-task"}
    submitted = {"setup": "import os", "task": "x = 1"}
    paths = {}
    for name, sources in {"release": released, "submitted": submitted}.items():
        paths[name] = tmp_path / f"{name}.ipynb"
        nbformat.write(_graded_notebook(sources, locked, graded), paths[name])
    assert locked_cell_findings(paths["release"], paths["submitted"]) == [
        "locked cell setup was edited (nbgrader restored it)",
        "locked cell test-task was deleted (nbgrader restored it)",
        "locked cell dump was deleted (not run)",
    ]
