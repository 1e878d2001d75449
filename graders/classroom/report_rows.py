"""One row per student and notebook, as both grading paths make it, and every writer that reads rows.

The fast path (answer files only) and the class path (nbgrader) differ in where a row's numbers come
from, never in how it is written: the CSV, the feedback, the table and the report are made here.
"""

import csv
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from graders.classroom.hidden_instances import fresh_instance_note
from graders.classroom.roster import Student
from graders.core.grading import describe
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.scoring import Submission

# Columns of `nbgrader export`, so both paths feed the same spreadsheet, then the answer file's own
# score and everything that needs an instructor's eye.
EXPORT_COLUMNS = [
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
]
# `instance`: the problem instance the row was graded on (0 the public one; empty: nothing graded).
GRADES_COLUMNS = [*EXPORT_COLUMNS, "instance", "recomputed_score", "audit"]
# A spreadsheet evaluates a field that starts with one of these as a formula (=HYPERLINK(...) phones home,
# quoting does not stop it): OWASP's advice is a leading single quote, which shows the field as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WALK_IN = "submitted but is not on the roster"
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True
)


@dataclass(frozen=True)
class Recorded:
    """What nbgrader's gradebook holds for a row (the class path); the fast path has no gradebook."""

    raw_score: float
    late_penalty: float
    max_score: float
    timestamp: str = ""
    duedate: str = ""

    @property
    def score(self) -> float:
        """The score after the late penalty, never below 0 (nbgrader export's `score`)."""
        return max(0.0, self.raw_score - self.late_penalty)


@dataclass(frozen=True)
class Row:
    """One student's result for one notebook: the answer file graded outside any kernel, and findings.

    `instance` is the problem instance it was graded on (graders.classroom.hidden_instances), None if none was
    run.
    """

    student: Student
    graded: Submission
    problems: tuple[str, ...] = ()
    recorded: Recorded | None = None
    instance: int | None = None

    @property
    def notebook(self) -> str:
        return self.graded.notebook

    @property
    def score(self) -> float:
        """The gradebook's score (after any late penalty) where there is one, else the answer file's."""
        return self.graded.score if self.recorded is None else self.recorded.score

    @property
    def max_score(self) -> float:
        return self.graded.max_score if self.recorded is None else self.recorded.max_score


@dataclass(frozen=True)
class Problem:
    """Something about one student's notebook that an instructor should look at."""

    student: str
    notebook: str
    text: str

    def __str__(self) -> str:
        return f"{self.student} / {self.notebook}: {self.text}"


def fast_path_row(submission: Submission, student: Student) -> Row:
    """The row of an answer file graded without nbgrader (on the public instance): its problem, if any, is
    the row's finding."""
    problems = (submission.problem,) if submission.problem else ()
    return Row(student, submission, problems, instance=PUBLIC_INSTANCE if submission.submitted else None)


def flag_walk_ins(rows: Iterable[Row], roster: Mapping[str, Student] | None) -> list[Row]:
    """The roster rule of both paths: a student who submitted but is not on it is graded and flagged."""
    if not roster:
        return list(rows)
    return [
        row if row.student.id in roster else dataclasses.replace(row, problems=(*row.problems, WALK_IN))
        for row in rows
    ]


def row_problems(rows: Iterable[Row]) -> list[Problem]:
    """Every finding of every row, with its student and notebook."""
    return [Problem(row.student.id, row.notebook, text) for row in rows for text in row.problems]


def _number(value: float) -> str:
    return f"{value:g}"


def csv_fields(row: Row) -> dict[str, str]:
    """A row in GRADES_COLUMNS: nbgrader export's values, then the recomputed score and the findings."""
    recorded = row.recorded or Recorded(row.graded.score, 0.0, row.graded.max_score)
    return {
        "assignment": row.notebook,
        "duedate": recorded.duedate,
        "timestamp": recorded.timestamp,
        "student_id": row.student.id,
        "last_name": row.student.last_name,
        "first_name": row.student.first_name,
        "email": row.student.email,
        "raw_score": _number(recorded.raw_score),
        "late_submission_penalty": _number(recorded.late_penalty),
        "score": _number(row.score),
        "max_score": _number(recorded.max_score),
        "instance": "" if row.instance is None else str(row.instance),
        "recomputed_score": _number(row.graded.score),
        "audit": "; ".join(row.problems),
    }


def neutral(field: str) -> str:
    """The field as a spreadsheet shows it as text: one that starts like a formula gets a leading quote."""
    return "'" + field if field.startswith(FORMULA_STARTS) else field


def write_grades_csv(rows: Iterable[Row], out: Path) -> None:
    """grades.csv: one quoted line per row, so any student id or name survives, and no field is a formula."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=GRADES_COLUMNS)
        writer.writeheader()
        writer.writerows({name: neutral(value) for name, value in csv_fields(row).items()} for row in rows)


def feedback_text(row: Row) -> str:
    """What one student reads about one notebook."""
    lines = [f"{row.notebook} — {row.student.id}: {_number(row.score)} / {_number(row.max_score)}"]
    lines += [f"  {note}" for note in [instance_note(row)] if note]
    lines += [f"  {describe(result)}" for result in row.graded.results]
    return "\n".join(lines)


def feedback_html(row: Row) -> str:
    """The same feedback as a standalone, escaped HTML page."""
    return TEMPLATES.get_template("feedback.html.j2").render(
        row=row,
        score=_number(row.score),
        max_score=_number(row.max_score),
        describe=describe,
        instance_note=instance_note(row),
    )


def instance_note(row: Row) -> str:
    """Why a student's numbers differ from their notebook's: the row was graded on a hidden instance."""
    hidden = row.instance not in (None, PUBLIC_INSTANCE)
    return fresh_instance_note(row.instance) if hidden else ""


def write_feedback(rows: Iterable[Row], folder: Path) -> None:
    """folder/<student>/<notebook>.txt and .html for every row."""
    for row in rows:
        target = folder / row.student.id / row.notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_suffix(".txt").write_text(feedback_text(row) + "\n", encoding="utf-8")
        target.with_suffix(".html").write_text(feedback_html(row), encoding="utf-8")


def score_cell(row: Row) -> str:
    """earned/possible, with ! where the row has a finding."""
    return f"{_number(row.score)}/{_number(row.max_score)}" + (" !" if row.problems else "  ")


def score_table(rows: Iterable[Row]) -> str:
    """Students × notebooks, each cell a score_cell; '-' where a student has no row for a notebook."""
    cells = {(row.student.id, row.notebook): score_cell(row) for row in rows}
    notebooks = sorted({notebook for _, notebook in cells})
    students = sorted({student for student, _ in cells})
    width = max([len("student")] + [len(student) for student in students])
    widths = [max(len(nb), *(len(cells.get((s, nb), "")) for s in students)) for nb in notebooks]
    columns = list(zip(notebooks, widths, strict=True))
    header = "student".ljust(width) + "".join(f"  {nb:>{w}}" for nb, w in columns)
    lines = [
        student.ljust(width) + "".join(f"  {cells.get((student, nb), '-'):>{w}}" for nb, w in columns)
        for student in students
    ]
    return "\n".join([header, *lines])


def report_text(heading: str, rows: list[Row], problems: list[Problem], where: list[str]) -> str:
    """The summary both paths print: scores, every problem, then where the outputs are."""
    return "\n".join(
        [
            heading,
            "",
            score_table(rows),
            "",
            f"{len(problems)} problem(s) need attention" + (":" if problems else "."),
            *(f"  {problem}" for problem in problems),
            "",
            *where,
        ]
    )
