"""The fast path: grade a folder of answer files, without executing anything, into rows and reports.

Layout (nbgrader's): ROOT/<student_id>/<notebook>/.answer.json
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from graders.grading import KeyResult, describe, grade_answers, load_reference, total
from graders.loader import AnswerFileError, load_answers
from graders.saving import ANSWER_FILE
from graders.specs import specs_for

# Columns of `nbgrader export`, so both paths feed the same spreadsheet.
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


def grade_answer_file(notebook: str, path: Path) -> Submission:
    """Grade one answer file; an unreadable file scores 0 on every key and names why."""
    student = path.parent.parent.name
    specs = specs_for(notebook)
    try:
        answers = load_answers(path)
    except AnswerFileError as error:
        results = [KeyResult(key, 0.0, spec.points, f"answer file unusable: {error}") for key, spec in specs.items()]
        return Submission(student, notebook, results, problem=str(error))
    return Submission(student, notebook, grade_answers(specs, load_reference(notebook), answers))


def grade_folder(root: Path, notebooks: Iterable[str], students: Iterable[str] = ()) -> list[Submission]:
    """Every student (found in the folder or named) gets a row for every notebook, present or not."""
    everyone = sorted(set(students) | {path.name for path in root.iterdir() if path.is_dir()})
    return [_grade_or_missing(root / student / notebook / ANSWER_FILE, notebook) for student in everyone for notebook in notebooks]


def _grade_or_missing(path: Path, notebook: str) -> Submission:
    if path.is_file():
        return grade_answer_file(notebook, path)
    specs = specs_for(notebook)
    results = [KeyResult(key, 0.0, spec.points, "no answer file submitted") for key, spec in specs.items()]
    return Submission(path.parent.parent.name, notebook, results, problem=f"missing {path.name}")


def write_export_csv(submissions: Iterable[Submission], out: Path) -> None:
    """Write rows in nbgrader export's columns."""
    with out.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for sub in submissions:
            writer.writerow(
                {
                    "assignment": sub.notebook,
                    "student_id": sub.student,
                    "raw_score": f"{sub.score:g}",
                    "late_submission_penalty": "0",
                    "score": f"{sub.score:g}",
                    "max_score": f"{sub.max_score:g}",
                }
            )


def feedback_text(submission: Submission) -> str:
    """What one student reads about one notebook."""
    lines = [f"{submission.notebook} — {submission.student}: {submission.score:g} / {submission.max_score:g}"]
    lines += [f"  {describe(result)}" for result in submission.results]
    return "\n".join(lines)


def score_table(submissions: list[Submission]) -> str:
    """Students × notebooks, scores as earned/possible."""
    notebooks = sorted({sub.notebook for sub in submissions})
    students = sorted({sub.student for sub in submissions})
    cell = {(sub.student, sub.notebook): f"{sub.score:g}/{sub.max_score:g}" for sub in submissions}
    width = max([len("student")] + [len(s) for s in students])
    header = "student".ljust(width) + "".join(f"  {name:>18}" for name in notebooks)
    rows = [student.ljust(width) + "".join(f"  {cell[student, nb]:>18}" for nb in notebooks) for student in students]
    return "\n".join([header, *rows])
