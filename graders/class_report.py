"""The graded class as an instructor reads it: nbgrader's feedback, audited rows, and report.txt."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.audit import audit_autograded
from graders.autograde import Outcome
from graders.course import Course, Task
from graders.gradebook import (
    NbgraderError,
    recorded_rows,
    run_nbgrader,
)
from graders.loader import load_answers
from graders.rows import Problem, Row
from graders.rows import report_text as rows_report_text
from graders.sandbox import bounds_line
from graders.scoring import Submission, all_zero


@dataclass(frozen=True)
class ClassReport:
    """The graded class: one CSV row per student and notebook, and every problem found."""

    rows: list[Row]
    problems: list[Problem]
    graded_now: int
    course: Path
    sandboxed: bool = True
    instances: str = ""

    @property
    def grades_csv(self) -> Path:
        return self.course / "grades.csv"

    @property
    def report_txt(self) -> Path:
        return self.course / "report.txt"


SANDBOX_LINES = {
    True: "sandbox:  every kernel ran in bubblewrap: no network, no view of answers, gradebook or others",
    False: "sandbox:  NONE (--no-sandbox): student code ran with the grader's rights;"
    " do not trust these scores from an untrusted class",
}


def make_feedback(course: Course, notebooks: list[str]) -> list[Problem]:
    """nbgrader generate_feedback for every autograded notebook that has none yet."""
    problems = []
    for notebook in notebooks:
        if not course.students_at(course.directory.autograded_directory, notebook):
            continue
        log = course.log(f"generate_feedback-{notebook}.log")
        try:
            run_nbgrader(
                ["generate_feedback", notebook, f"--CourseDirectory.db_url={course.db_url}"], course.root, log
            )
        except NbgraderError:
            problems.append(Problem("(everyone)", notebook, f"nbgrader generate_feedback failed; see {log}"))
    return problems


def audited_rows(course: Course, notebooks: list[str], outcomes: dict[Task, Outcome]) -> list[Row]:
    """The gradebook's rows of the chosen notebooks, each with its answer file graded and audited."""
    rows = []
    for notebook, student, recorded in sorted(
        recorded_rows(course.db_url, notebooks), key=lambda row: (row[0], row[1].id)
    ):
        task = Task(notebook, student.id)
        outcome = outcomes.get(task)
        graded, findings = _audit(course, task, outcome, recorded.score)
        rows.append(Row(student, graded, tuple(findings), recorded, outcome.instance if outcome else None))
    return rows


def _audit(course: Course, task: Task, outcome: Outcome | None, score: float) -> tuple[Submission, list[str]]:
    if outcome is None:
        missing = f"no {task.notebook}.ipynb submitted"
        return all_zero(task.student, task.notebook, missing), [missing]
    if outcome.problem:
        problem = f"not graded: {outcome.problem}"
        findings = [problem, *outcome.limits_hit, *outcome.skipped]
        return all_zero(task.student, task.notebook, problem), findings
    audit = audit_autograded(
        course.autograded(task),
        task.notebook,
        score,
        course.release(task.notebook),
        course.submitted(task) / f"{task.notebook}.ipynb",
        _reference(outcome.reference_file(course)),
        outcome.dump,
    )
    return audit.recomputed, [*audit.findings, *outcome.limits_hit, *outcome.skipped]


def _reference(path: Path) -> dict[str, Any] | None:
    """The reference a submission was graded against; None (the public answers) when it is gone."""
    return load_answers(path) if path.is_file() else None


def report_text(report: ClassReport) -> str:
    """The summary an instructor reads: scores, problems, and where everything is."""
    heading = f"Graded {len(report.rows)} notebooks ({report.graded_now} autograded now) in {report.course}"
    where = [
        f"grades:   {report.grades_csv} (nbgrader export + recomputed_score + audit)",
        SANDBOX_LINES[report.sandboxed],
        *([bounds_line()] if report.sandboxed else []),
        *([report.instances] if report.instances else []),
        f"feedback: {report.course / 'feedback'}/<student>/<notebook>/<notebook>.html",
    ]
    return rows_report_text(heading, report.rows, report.problems, where)
