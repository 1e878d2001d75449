"""Talk to nbgrader: run its commands in a course directory, and write autograde results into a gradebook.

Only one process writes a gradebook: scratch courses get their own sqlite copy, and the grading
process replays nbgrader's own SaveAutoGrades and AssignLatePenalties on each autograded notebook.
"""

import contextlib
import datetime
import os
import resource
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SAWarning

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


def record_autograded(
    db_url: str, notebook_file: Path, assignment: str, student: str, timestamp: datetime.datetime | None
) -> None:
    """Store an autograded notebook's scores exactly as `nbgrader autograde` would have."""
    _record_submission(db_url, assignment, student, timestamp)
    node = nbformat.read(notebook_file, as_version=4)
    resources = {
        "nbgrader": {
            "student": student,
            "assignment": assignment,
            "notebook": notebook_file.stem,
            "db_url": db_url,
        }
    }
    with _quiet_sqlalchemy():
        for preprocessor in (SaveAutoGrades(), AssignLatePenalties()):
            node, resources = preprocessor.preprocess(node, resources)


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
        gradebook.update_or_create_student(student)
        details = {"timestamp": timestamp} if timestamp else {}
        gradebook.update_or_create_submission(assignment, student, **details)


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
