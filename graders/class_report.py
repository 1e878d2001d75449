"""The graded class as an instructor reads it: feedback, audited rows for grades.csv, and report.txt."""

from dataclasses import dataclass
from pathlib import Path

from graders.audit import audit_autograded
from graders.autograde import Outcome
from graders.course import Course, Task
from graders.gradebook import (
    NbgraderError,
    export_rows,
    run_nbgrader,
)
from graders.report import EXPORT_COLUMNS, Problem, score_table
from graders.roster import Student

CLASS_COLUMNS = [*EXPORT_COLUMNS, "recomputed_score", "audit"]


@dataclass(frozen=True)
class ClassReport:
    """The graded class: one CSV row per student and notebook, and every problem found."""

    rows: list[dict[str, str]]
    problems: list[Problem]
    graded_now: int
    course: Path
    sandboxed: bool = True

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
        if not any((course.root / "autograded").glob(f"*/{notebook}")):
            continue
        log = course.log(f"generate_feedback-{notebook}.log")
        try:
            run_nbgrader(
                ["generate_feedback", notebook, f"--CourseDirectory.db_url={course.db_url}"], course.root, log
            )
        except NbgraderError:
            problems.append(Problem("(everyone)", notebook, f"nbgrader generate_feedback failed; see {log}"))
    return problems


def audited_rows(
    course: Course, notebooks: list[str], outcomes: dict[Task, Outcome]
) -> tuple[list[dict[str, str]], list[Problem]]:
    """nbgrader export's rows for the chosen notebooks, each with the recomputed score and audit findings."""
    rows, problems = [], []
    for row in sorted(
        export_rows(course.db_url, notebooks), key=lambda row: (row["assignment"], row["student_id"])
    ):
        task = Task(row["assignment"], row["student_id"])
        recomputed, findings = _audit(course, task, outcomes.get(task), float(row["score"] or 0))
        rows.append({**row, "recomputed_score": recomputed, "audit": "; ".join(findings)})
        problems += [Problem(task.student, task.notebook, finding) for finding in findings]
    return rows, problems


def _audit(course: Course, task: Task, outcome: Outcome | None, score: float) -> tuple[str, list[str]]:
    if outcome is None:
        return "", [f"no {task.notebook}.ipynb submitted"]
    if outcome.problem:
        return "", [f"not graded: {outcome.problem}", *outcome.skipped]
    audit = audit_autograded(
        course.autograded(task),
        task.notebook,
        score,
        course.release(task.notebook),
        course.submitted(task) / f"{task.notebook}.ipynb",
    )
    return f"{audit.recomputed.score:g}", [*audit.findings, *outcome.skipped]


def roster_problems(students: list[Student], roster: dict[str, Student] | None) -> list[Problem]:
    """Students who submitted but are not on the roster (only when there is one)."""
    if not roster:
        return []
    return [
        Problem(student.id, "-", "submitted but is not on the roster")
        for student in students
        if student.id not in roster
    ]


def score_cells(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    """Table cells: nbgrader's score/max, with ! where the audit found something."""
    return {
        (row["student_id"], row["assignment"]): f"{float(row['score']):g}/{float(row['max_score']):g}"
        + (" !" if row["audit"] else "  ")
        for row in rows
    }


def report_text(report: ClassReport) -> str:
    """The summary an instructor reads: scores, problems, and where everything is."""
    lines = [
        f"Graded {len(report.rows)} notebooks ({report.graded_now} autograded now) in {report.course}",
        "",
        score_table(score_cells(report.rows)),
        "",
        f"{len(report.problems)} problem(s) need attention" + (":" if report.problems else "."),
        *(f"  {problem}" for problem in report.problems),
        "",
        f"grades:   {report.grades_csv} (nbgrader export + recomputed_score + audit)",
        SANDBOX_LINES[report.sandboxed],
        f"feedback: {report.course / 'feedback'}/<student>/<notebook>/<notebook>.html",
    ]
    return "\n".join(lines)
