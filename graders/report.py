"""The fast path: grade a folder of answer files, without executing anything, into rows and reports.

Layout (nbgrader's): ROOT/<student_id>/<notebook>/<notebook>.answer.json, or a course's older
`.answer.json`. The class path (graders.classgrade) recomputes every nbgrader score with
grade_answer_file and shares the CSV, table and problem lines.
"""

import csv
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from graders.grading import KeyResult, describe, grade_answers, load_reference, total
from graders.loader import TORCH_TENSOR_MESSAGE, AnswerFileError, Rejected, load_answers
from graders.roster import Student
from graders.saving import find_answer_file
from graders.specs import specs_for

# Columns of `nbgrader export`, so both paths feed the same spreadsheet; `problem` is ours, last.
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
FAST_PATH_COLUMNS = [*EXPORT_COLUMNS, "problem"]


@dataclass(frozen=True)
class Submission:
    """One student's graded answers for one notebook."""

    student: str
    notebook: str
    results: list[KeyResult]
    problem: str = ""

    @property
    def score(self) -> float:
        return total(self.results)[0]

    @property
    def max_score(self) -> float:
        return total(self.results)[1]


@dataclass(frozen=True)
class Problem:
    """Something about one student's notebook that an instructor should look at."""

    student: str
    notebook: str
    text: str

    def __str__(self) -> str:
        return f"{self.student} / {self.notebook}: {self.text}"


def grade_answer_file(notebook: str, path: Path) -> Submission:
    """Grade one answer file; an unreadable file scores 0 on every key and names why, refused values too."""
    student = path.parent.parent.name
    specs = specs_for(notebook)
    try:
        answers = load_answers(path)
        results = grade_answers(specs, load_reference(notebook), answers)
    except AnswerFileError as error:
        return _all_zero(student, notebook, f"answer file unusable: {error}", str(error))
    except Exception as error:  # a grader bug on one file must not stop the class
        return _all_zero(
            student, notebook, "could not be graded", f"grader error {type(error).__name__}: {error}"
        )
    # A stored tensor is an honest slip that the student's feedback explains; anything else the loader
    # refused was crafted, and the instructor should see it.
    refused = [
        f"{key}: {value.reason}"
        for key, value in answers.items()
        if isinstance(value, Rejected) and TORCH_TENSOR_MESSAGE not in value.reason
    ]
    return Submission(
        student, notebook, results, problem="; ".join(f"refused {reason}" for reason in refused)
    )


def grade_folder(root: Path, notebooks: Iterable[str], students: Iterable[str] = ()) -> list[Submission]:
    """Every student (found in the folder or named) gets a row for every notebook, present or not."""
    everyone = sorted(set(students) | {path.name for path in root.iterdir() if path.is_dir()})
    return [
        _grade_or_missing(find_answer_file(root / student / notebook, notebook), notebook)
        for student in everyone
        for notebook in notebooks
    ]


def _grade_or_missing(path: Path, notebook: str) -> Submission:
    if path.is_file():
        return grade_answer_file(notebook, path)
    return _all_zero(path.parent.parent.name, notebook, "no answer file submitted", f"missing {path.name}")


def _all_zero(student: str, notebook: str, message: str, problem: str) -> Submission:
    results = [KeyResult(key, 0.0, spec.points, message) for key, spec in specs_for(notebook).items()]
    return Submission(student, notebook, results, problem=problem)


def export_row(assignment: str, student: Student, score: float, max_score: float) -> dict[str, str]:
    """One row in nbgrader export's columns (no due date, no late penalty)."""
    return {
        "assignment": assignment,
        "duedate": "",
        "timestamp": "",
        "student_id": student.id,
        "last_name": student.last_name,
        "first_name": student.first_name,
        "email": student.email,
        "raw_score": f"{score:g}",
        "late_submission_penalty": "0",
        "score": f"{score:g}",
        "max_score": f"{max_score:g}",
    }


def write_csv(rows: Iterable[Mapping[str, str]], columns: list[str], out: Path) -> None:
    """Write rows with the given columns, quoted where needed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_export_csv(
    submissions: Iterable[Submission], out: Path, roster: Mapping[str, Student] | None = None
) -> None:
    """The fast path's CSV: nbgrader export's columns, names from the roster, and the problem if any."""
    roster = roster or {}
    rows = [
        {
            **export_row(
                sub.notebook, roster.get(sub.student, Student(sub.student)), sub.score, sub.max_score
            ),
            "problem": sub.problem,
        }
        for sub in submissions
    ]
    write_csv(rows, FAST_PATH_COLUMNS, out)


def feedback_text(submission: Submission) -> str:
    """What one student reads about one notebook."""
    lines = [f"{submission.notebook} — {submission.student}: {submission.score:g} / {submission.max_score:g}"]
    lines += [f"  {describe(result)}" for result in submission.results]
    return "\n".join(lines)


def feedback_html(submission: Submission) -> str:
    """The same feedback as a standalone HTML page."""
    title = html.escape(f"{submission.notebook} — {submission.student}")
    items = "\n".join(f"<li>{html.escape(describe(result))}</li>" for result in submission.results)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head><body>\n'
        f"<h1>{title}</h1>\n<p>Score: {submission.score:g} / {submission.max_score:g}</p>\n"
        f"<ul>\n{items}\n</ul>\n"
        "</body></html>\n"
    )


def write_feedback(submissions: Iterable[Submission], folder: Path) -> None:
    """folder/<student>/<notebook>.txt and .html for every submission."""
    for submission in submissions:
        target = folder / submission.student / submission.notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_suffix(".txt").write_text(feedback_text(submission) + "\n", encoding="utf-8")
        target.with_suffix(".html").write_text(feedback_html(submission), encoding="utf-8")


def score_table(cells: Mapping[tuple[str, str], str]) -> str:
    """Students × notebooks from {(student, notebook): text}, e.g. "6/7"."""
    notebooks = sorted({notebook for _, notebook in cells})
    students = sorted({student for student, _ in cells})
    width = max([len("student")] + [len(s) for s in students])
    columns = [max(len(nb), *(len(cells.get((s, nb), "")) for s in students)) for nb in notebooks]
    header = "student".ljust(width) + "".join(
        f"  {nb:>{w}}" for nb, w in zip(notebooks, columns, strict=True)
    )
    rows = [
        student.ljust(width)
        + "".join(f"  {cells.get((student, nb), '-'):>{w}}" for nb, w in zip(notebooks, columns, strict=True))
        for student in students
    ]
    return "\n".join([header, *rows])


def submission_cells(submissions: Iterable[Submission]) -> dict[tuple[str, str], str]:
    """Table cells for the fast path: earned/possible, with ! where there is a problem."""
    return {
        (sub.student, sub.notebook): f"{sub.score:g}/{sub.max_score:g}" + (" !" if sub.problem else "  ")
        for sub in submissions
    }
