"""Talk to nbgrader: run its commands in a course directory, and write autograde results into a gradebook.

Only one process writes a gradebook: scratch courses get their own sqlite copy, and the grading
process stores what nbgrader's SaveAutoGrades and AssignLatePenalties store for each autograded notebook,
from the marks its worker read (marks_of).
"""

import contextlib
import datetime
import os
import resource
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import joinedload
from traitlets.config import Config

from graders.classroom.report_rows import Recorded
from graders.classroom.roster import Student
from graders.classroom.submission_limits import NBGRADER_MEMORY_BYTES
from graders.classroom.tether import tethered


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


def sqlite_url(path: Path) -> str:
    """nbgrader's db_url for a sqlite gradebook file."""
    return f"sqlite:///{path.resolve()}"


def nbgrader_env(jupyter_dir: Path | None = None) -> dict[str, str]:
    """nbgrader's environment: this Python's scripts first (it runs `alembic` by name), and our kernels."""
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    if jupyter_dir is not None:
        env["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [str(jupyter_dir), os.environ.get("JUPYTER_PATH")])
        )
    return env


def run_nbgrader(
    arguments: list[str],
    course: Path,
    log: Path,
    timeout: float | None = None,
    jupyter_dir: Path | None = None,
    environment: dict[str, str] | None = None,
) -> None:
    """Run `nbgrader ARGUMENTS` in a course directory, output to `log`; raise NbgraderError if it fails.

    Output goes to a file, not a pipe: a process the student's kernel spawned could hold a pipe open forever.
    A run past `timeout` is killed (its kernel dies with it, see graders.classroom.sandbox) and raises
    TimeoutExpired.
    nbgrader also dies with this process, so a killed grader leaves none running in its scratch course.
    `environment` adds variables for nbgrader and its kernel (the sandbox passes only a listed few).
    nbgrader's own address space is capped (NBGRADER_MEMORY_BYTES, a soft limit: its kernel sets its own).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    # The child sets its own death signal before it execs nbgrader: a preexec_fn would run Python between
    # fork and exec, which can deadlock in a threaded caller (the class grader's pool, a Dask worker).
    command = tethered([sys.executable, "-m", "nbgrader", *arguments])
    with (
        log.open("w", encoding="utf-8") as stream,
        subprocess.Popen(
            command,
            cwd=course,
            env=nbgrader_env(jupyter_dir) | (environment or {}),
            stdout=stream,
            stderr=subprocess.STDOUT,
        ) as process,
    ):
        _limit_memory(process.pid, NBGRADER_MEMORY_BYTES)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    if returncode != 0:
        output = log.read_text(encoding="utf-8", errors="replace")
        raise NbgraderError(f"nbgrader {' '.join(arguments)} failed (log: {log}):\n{output[-3000:]}")


def _limit_memory(pid: int, limit: int) -> None:
    """Cap a just-started process's address space; the tether it runs first needs a few MB."""
    with contextlib.suppress(ProcessLookupError):  # it already ended: its exit code says how
        _, hard = resource.prlimit(pid, resource.RLIMIT_AS)
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, hard))


def register_students(db_url: str, students: Iterable[Student]) -> None:
    """Create or update every student, in the given order (nbgrader export lists them in creation order)."""
    with _quiet_sqlalchemy(), Gradebook(db_url) as gradebook:
        for student in students:
            details = {
                "first_name": student.first_name,
                "last_name": student.last_name,
                "email": student.email,
            }
            gradebook.update_or_create_student(
                student.id, **{key: value for key, value in details.items() if value}
            )


@dataclass(frozen=True)
class Marks:
    """What nbgrader's SaveAutoGrades stores for one autograded notebook: each grade cell's automatic
    score, and each solution or task cell's automatic comment ("No response." for an untouched one)."""

    scores: tuple[tuple[str, float | None], ...] = ()
    comments: tuple[tuple[str, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "scores": [list(pair) for pair in self.scores],
            "comments": [list(pair) for pair in self.comments],
        }

    @classmethod
    def from_json(cls, fields: Any) -> "Marks":
        fields = fields or {}
        return cls(
            tuple(dict(fields.get("scores", {})).items()),
            tuple(dict(fields.get("comments", {})).items()),
        )


def marks_of(notebook: NotebookNode) -> Marks:
    """The marks SaveAutoGrades would store for an autograded notebook, read as it reads them."""
    scores, comments = [], []
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if utils.is_grade(cell):
            scores.append((grade_id, utils.determine_grade(cell)[0]))
        if utils.is_solution(cell) or utils.is_task(cell):
            untouched = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
            comments.append((grade_id, "No response." if untouched and not utils.is_task(cell) else None))
    return Marks(tuple(scores), tuple(comments))


def record_autograded(
    db_url: str,
    notebook: str,
    marks: Marks,
    assignment: str,
    student: str,
    timestamp: datetime.datetime | None,
    config: Config | None = None,
) -> None:
    """Store an autograded notebook's marks exactly as `nbgrader autograde`'s SaveAutoGrades and
    AssignLatePenalties would have, in one gradebook session whose marks are one commit.

    `config` is the course's nbgrader configuration, which may choose the late penalty's plugin.
    """
    with _quiet_sqlalchemy(), _recording(db_url) as gradebook:
        submission = _submission(gradebook, assignment, student, timestamp)
        graded = gradebook.find_submission_notebook(notebook, assignment, student)
        grades = {grade.name: grade for grade in _with_cells(gradebook, Grade, graded)}
        for name, score in marks.scores:
            grade = grades[name]
            grade.auto_score = score
            # A manual grade, or a cell the autograder could not score, needs a grader's review.
            grade.needs_manual_grade = grade.manual_score is not None or score is None
        comments = {comment.name: comment for comment in _with_cells(gradebook, Comment, graded)}
        for name, text in marks.comments:
            comments[name].auto_comment = text
        gradebook.db.flush()
        graded.late_submission_penalty = _late_penalty(graded, submission, student, config)
        gradebook.db.commit()


def _with_cells(gradebook: Gradebook, kind: type, graded: Any) -> list[Any]:
    """A submitted notebook's grades or comments with their cells, in one query (each name is its cell's)."""
    return gradebook.db.query(kind).options(joinedload(kind.cell)).filter(kind.notebook_id == graded.id).all()


# The grading process's gradebook for recording, by URL, open across submissions (close_recording ends it).
_RECORDING: dict[str, Gradebook] = {}


@contextlib.contextmanager
def _recording(db_url: str) -> Iterator[Gradebook]:
    """The gradebook to record in, kept open from one submission to the next: SQLAlchemy compiles each query
    once per connection pool, and a fresh Gradebook spends most of a recording compiling them again."""
    gradebook = _RECORDING.get(db_url)
    if gradebook is None:
        gradebook = _RECORDING[db_url] = Gradebook(db_url)
    try:
        yield gradebook
    except BaseException:
        gradebook.db.rollback()
        raise


def close_recording() -> None:
    """Close the gradebooks recording kept open."""
    while _RECORDING:
        _, gradebook = _RECORDING.popitem()
        gradebook.close()


def _late_penalty(graded: Any, submission: Any, student: str, config: Config | None) -> float | None:
    """The penalty AssignLatePenalties gives with the course's plugin (None: on time)."""
    if submission.total_seconds_late <= 0:
        return None
    assigner = AssignLatePenalties(config=config or Config())
    assigner.init_plugin()
    penalty = assigner.plugin_inst.late_submission_penalty(
        student, graded.score, submission.total_seconds_late
    )
    return None if penalty is None else min(max(penalty, 0), graded.score)


def record_ungradable(
    db_url: str, assignment: str, student: str, timestamp: datetime.datetime | None
) -> None:
    """A submission nbgrader could not run scores 0, as nbgrader scores a missing notebook."""
    _record_submission(db_url, assignment, student, timestamp)
    with _quiet_sqlalchemy(), Gradebook(db_url) as gradebook:
        for notebook in gradebook.find_submission(assignment, student).notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()


def _record_submission(
    db_url: str, assignment: str, student: str, timestamp: datetime.datetime | None
) -> None:
    with _quiet_sqlalchemy(), Gradebook(db_url) as gradebook:
        _submission(gradebook, assignment, student, timestamp)


def _submission(
    gradebook: Gradebook, assignment: str, student: str, timestamp: datetime.datetime | None
) -> Any:
    gradebook.update_or_create_student(student)
    details = {"timestamp": timestamp} if timestamp else {}
    return gradebook.update_or_create_submission(assignment, student, **details)


def recorded_rows(db_url: str, assignments: Iterable[str]) -> list[tuple[str, Student, Recorded]]:
    """nbgrader export's rows, one per assignment and student, read through the Gradebook API for any id."""
    rows = []
    with _quiet_sqlalchemy(), Gradebook(db_url) as gradebook:
        for assignment in (gradebook.find_assignment(name) for name in assignments):
            for student in gradebook.students:
                rows.append((assignment.name, _student(student), _recorded(gradebook, assignment, student)))
    return rows


def _student(student: Any) -> Student:
    return Student(student.id, student.first_name or "", student.last_name or "", student.email or "")


def _recorded(gradebook: Gradebook, assignment: Any, student: Any) -> Recorded:
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:  # nbgrader export scores a student who submitted nothing 0
        return Recorded(0.0, 0.0, assignment.max_score, "", _text(assignment.duedate))
    return Recorded(
        submission.score,
        submission.late_submission_penalty,
        assignment.max_score,
        _text(submission.timestamp),
        _text(assignment.duedate),
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


@contextlib.contextmanager
def _quiet_sqlalchemy() -> Iterator[None]:
    """nbgrader's own queries trigger SQLAlchemy autoflush warnings that say nothing about the grades."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield
