"""A class of students built from the solutions: honest, wrong, broken, hostile and tampering ones.

A correct submission is the student notebook with each solution cell's stub replaced by that cell's
source in solutions/ (matched by nbgrader grade_id); every other student changes a few cells of it.
"""

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from graders.classroom import demo_class
from graders.core.paths import answers_dir

NOTEBOOK = "00_autograd"
# Fast enough for a test yet far above any cell of notebook 00 (milliseconds); a submission may take 4 of
# them, which leaves nbgrader itself room on a loaded machine.
CELL_TIMEOUT = 20
# Stands in for "tens of GB": well above the kernel's 4 GiB limit, and never touched if it were granted.
HUGE_ALLOCATION = "huge = torch.empty(5 * 10**9)  # 20 GB\n"
ANSWER_FILE = ".answer.json"


@dataclass(frozen=True)
class Pupil:
    """A fixture student: what they submit and what grading must make of it."""

    id: str
    score: float
    findings: tuple[str, ...] = ()
    cells: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    blank: bool = False
    raw: bytes | None = None
    extra_files: dict[str, bytes] = field(default_factory=dict)
    submits: bool = True
    on_roster: bool = True


def solution_sources(notebook: str = NOTEBOOK) -> dict[str, str]:
    """Source of each solution cell of the fixture's notebook, by grade_id."""
    return demo_class.solution_sources(notebook)


def student_notebook(
    notebook: str = NOTEBOOK,
    cells: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    blank: bool = False,
) -> NotebookNode:
    """The student version, completed with the solutions (unless blank), some cells replaced or dropped."""
    return demo_class.student_notebook(notebook, cells, drop, blank)


def fixture_class() -> list[Pupil]:
    """Every kind of submission the class grader must handle, with the score and findings it must give."""
    solved = solution_sources()
    forge = (
        "import shutil\nimport graders.core.paths\n"
        "shutil.copyfile(graders.core.paths.answers_dir() / '00_autograd.json', '.answer.json')\n"
        "dump_answers = lambda notebook, namespace: None\n"
    )
    return [
        Pupil("correct", 7),
        Pupil("blank", 0, blank=True),
        Pupil("half_done", 3, blank=True, cells={key: solved[key] for key in ("sum-grads", "x-grad")}),
        Pupil(
            # The factor in f costs X_grad only: task 3 walks a graph it is given.
            "typical_mistakes",
            4,
            cells={
                "x-grad": solved["x-grad"].replace("f = 10 * (X**2).sum()", "f = (X**2).sum()"),
                "accumulation": solved["accumulation"].replace("w.grad.zero_()\n", ""),
            },
        ),
        Pupil(
            "infinite_loop",
            6,
            ("cell graph-path ran past the time limit",),
            {"graph-path": "while True:\n    pass"},
        ),
        Pupil(
            "ignores_interrupts",
            0,
            ("not graded: a cell ran past the time limit and did not stop",),
            {
                "graph-path": "import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    pass"
            },
        ),
        Pupil("kills_kernel", 0, ("not graded: the kernel died",), {"graph-path": "import os\nos._exit(1)"}),
        Pupil(
            "allocates_20gb",
            6,
            ("cell graph-path ran out of memory",),
            {"graph-path": HUGE_ALLOCATION + solved["graph-path"]},
        ),
        Pupil(
            "prints_megabytes", 7, cells={"graph-path": 'print("x" * 10_000_000)\n' + solved["graph-path"]}
        ),
        Pupil(
            "library_warnings",
            7,
            cells={
                "sum-grads": "import sys\n\nget_ipython().events.register(\n"
                "    'pre_run_cell',\n"
                "    lambda info: print('UserWarning: a library complains', file=sys.stderr),\n)\n"
                + solved["sum-grads"]
            },
        ),
        Pupil("not_json", 0, ("not graded: the notebook is not valid JSON",), raw=b'{"cells": [oops'),
        Pupil("absent", 0, ("no 00_autograd.ipynb submitted",), submits=False),
        Pupil("walk_in", 7, ("submitted but is not on the roster",), on_roster=False),
        Pupil(
            "edits_test_cell",
            5,
            ("locked cell test-x-grad was edited",),
            {"x-grad": solved["x-grad"] + "\nX_grad = X_grad * 0", "test-x-grad": "2.0"},
        ),
        Pupil(
            "deletes_test_cell", 7, ("locked cell test-graph-path was deleted",), drop=("test-graph-path",)
        ),
        # Scores are computed outside the kernel, so patching what runs inside it changes nothing.
        Pupil(
            "patches_graders",
            0,
            (),
            {
                "sum-grads": "import graders.core.grading\n\ngraders.core.grading.grade_value = "
                "lambda key, spec, expected, answers: "
                "graders.core.grading.KeyResult(key, spec.points, spec.points, 'ok')"
            },
            blank=True,
        ),
        Pupil(
            "patches_numpy",
            2,
            (),
            {
                "sum-grads": "import numpy as np\n\nnp.isclose = lambda a, b, **options: "
                "np.ones(np.broadcast_shapes(np.shape(a), np.shape(b)), dtype=bool)\nsum_grads = [0.0, 0.0]",
                "x-grad": solved["x-grad"] + "\nX_grad = X_grad * 0",
                "accumulation": solved["accumulation"]
                + "\naccumulated_grad = grad_after_zeroing = w.grad * 0",
            },
        ),
        # The reference answers are not in the sandbox: the copy fails, and the answers earn nothing.
        Pupil("forges_answer_file", 0, (), {"sum-grads": forge}, blank=True),
        Pupil(
            "ships_answer_file",
            0,
            ("the dump cell did not save the answers",),
            {"sum-grads": "dump_answers = lambda notebook, namespace: None"},
            blank=True,
            extra_files={ANSWER_FILE: (answers_dir() / f"{NOTEBOOK}.json").read_bytes()},
        ),
    ]


def write_submissions(root: Path, students: list[Pupil], notebook: str = NOTEBOOK) -> Path:
    """nbgrader's layout: root/<student>/<notebook>/<notebook>.ipynb (plus any extra files)."""
    for student in students:
        if not student.submits:
            continue
        folder = root / student.id / notebook
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.ipynb"
        if student.raw is not None:
            target.write_bytes(student.raw)
        else:
            nbformat.write(student_notebook(notebook, student.cells, student.drop, student.blank), target)
        for name, content in student.extra_files.items():
            (folder / name).write_bytes(content)
    return root


def write_zip(path: Path, submissions: Path, notebook: str = NOTEBOOK) -> Path:
    """An LMS-style download: one zip of files named <student>_<notebook>.ipynb."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(submissions.glob(f"*/{notebook}/{notebook}.ipynb")):
            archive.write(file, f"submissions/{file.parent.parent.name}_{notebook}.ipynb")
    return path


def write_roster(path: Path, students: list[Pupil]) -> Path:
    """id,first_name,last_name,email for the students on the roster."""
    lines = ["id,first_name,last_name,email"]
    lines += [f"{s.id},First {s.id},Last {s.id},{s.id}@example.org" for s in students if s.on_roster]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
