"""The graded class as an instructor reads it: nbgrader's feedback, audited rows, and report.txt."""

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.classroom.audit import audit_autograded
from graders.classroom.autograde import FEEDBACK, Outcome, feedback_mark, saved_attempt
from graders.classroom.class_overview import DIAGNOSES_CSV, PAGE, TASKS_CSV
from graders.classroom.course import Course, Task
from graders.classroom.files import copy_untrusted_tree, remove_tree
from graders.classroom.gradebook import (
    NbgraderError,
    recorded_rows,
    run_nbgrader,
)
from graders.classroom.report_rows import Problem, Row
from graders.classroom.report_rows import report_text as rows_report_text
from graders.classroom.sandbox import bounds_line
from graders.core.loader import load_answers
from graders.core.scoring import Submission, all_zero


@dataclass(frozen=True)
class ClassReport:
    """The graded class: one CSV row per student and notebook, and every problem found."""

    rows: list[Row]
    problems: list[Problem]
    graded_now: int
    course: Path
    sandboxed: bool = True
    instances: str = ""
    redone: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class Redone:
    """A step of one submission that an interrupted earlier run left undone or half done, done again."""

    task: Task
    step: str
    why: str

    def __str__(self) -> str:
        return f"{self.step} of {self.task.student} / {self.task.notebook} ({self.why})"


# nbgrader generate_feedback starts in seconds and converts one notebook (capped outputs, at most
# graders.classroom.submission_limits.FOLDER_MAX_FILES files beside it) in about one: these leave a slow
# machine a wide margin.
FEEDBACK_START_SECONDS = 300
FEEDBACK_SECONDS_PER_STUDENT = 60


def make_feedback(
    course: Course, outcomes: dict[Task, Outcome], recorded_now: set[Task]
) -> tuple[dict[Task, str], list[Redone]]:
    """Keep the feedback each graded submission's worker made; nbgrader generate_feedback for any without.

    Returns why each submission that got none got none, and the feedback an interrupted run left undone.
    Complete feedback is marked (graders.classroom.autograde.feedback_mark); anything else is made again from
    scratch, since nbgrader skips a student whose feedback folder exists, even half written. Each task's
    attempt folders go once its feedback is kept.
    """
    wanted = sorted(
        (
            task
            for task, outcome in outcomes.items()
            if not outcome.problem and not _has_feedback(course, task)
        ),
        key=lambda task: (task.notebook, task.student),
    )
    redone = [
        Redone(task, "feedback", "an earlier run was stopped before it was complete")
        for task in wanted
        if task not in recorded_now
    ]
    unmade = [task for task in wanted if not keep_feedback(course, task, outcomes[task])]
    failures: dict[Task, str] = {}
    for notebook in sorted({task.notebook for task in unmade}):
        failures |= _feedback(course, notebook, [task for task in unmade if task.notebook == notebook])
    for task in outcomes:
        remove_tree(course.scratch(task))
    return failures, redone


def keep_feedback(course: Course, task: Task, outcome: Outcome) -> bool:
    """Copy the feedback the worker made into the course and mark it complete; False if there is none."""
    attempt = saved_attempt(course, task, outcome.digest)
    made = attempt.scratch / FEEDBACK if attempt and attempt.scratch else None
    if made is None or not (made / f"{task.notebook}.html").is_file():
        return False
    remove_tree(course.feedback(task))
    copy_untrusted_tree(made, course.feedback(task))
    feedback_mark(course, task).parent.mkdir(parents=True, exist_ok=True)
    feedback_mark(course, task).touch()
    return True


def _has_feedback(course: Course, task: Task) -> bool:
    return feedback_mark(course, task).is_file() and _feedback_page(course, task).is_file()


def _feedback_page(course: Course, task: Task) -> Path:
    return course.feedback(task) / f"{task.notebook}.html"


def _feedback(course: Course, notebook: str, tasks: list[Task]) -> dict[Task, str]:
    """Feedback for these students of one notebook, in as few nbgrader runs as their failures allow.

    nbgrader works through the students one at a time: a run past its time limit is stopped, the student it
    was on gets no feedback, and the rest are run again without that student. A run that fails leaves the
    students it could not do without feedback.
    """
    for task in tasks:
        remove_tree(course.feedback(task))
    failures: dict[Task, str] = {}
    attempt = 0
    while todo := [
        task for task in tasks if task not in failures and not _feedback_page(course, task).is_file()
    ]:
        log = course.log(f"generate_feedback-{notebook}{f'-{attempt}' if attempt else ''}.log")
        seconds = FEEDBACK_START_SECONDS + FEEDBACK_SECONDS_PER_STUDENT * len(todo)
        arguments = ["generate_feedback", notebook, f"--CourseDirectory.db_url={course.db_url}"]
        if failures:
            excluded = ",".join(sorted(task.student for task in failures))
            arguments.append(f"--CourseDirectory.student_id_exclude={excluded}")
        attempt += 1
        try:
            run_nbgrader(arguments, course.root, log, seconds)
        except subprocess.TimeoutExpired:
            unfinished = [task for task in todo if not _feedback_page(course, task).is_file()]
            stalled = [task for task in unfinished if course.feedback(task).is_dir()] or unfinished
            for task in stalled:
                failures[task] = f"no feedback: nbgrader generate_feedback did not finish it in {seconds} s"
                remove_tree(course.feedback(task))
            continue
        except NbgraderError:
            pass
        for task in todo:
            if not _feedback_page(course, task).is_file():
                failures[task] = f"no feedback: nbgrader generate_feedback failed on it (see {log})"
    for task in tasks:
        if task not in failures:
            feedback_mark(course, task).parent.mkdir(parents=True, exist_ok=True)
            feedback_mark(course, task).touch()
    return failures


def audited_rows(course: Course, notebooks: list[str], outcomes: dict[Task, Outcome]) -> list[Row]:
    """The gradebook's rows of the chosen notebooks, each with its answer file graded and audited."""
    rows = []
    for notebook, student, recorded in sorted(
        recorded_rows(course.db_url, notebooks), key=lambda row: (row[0], row[1].id)
    ):
        task = Task(notebook, student.id)
        outcome = outcomes.get(task)
        try:
            graded, findings = _audit(course, task, outcome, recorded.score)
        except Exception as error:  # one submission's failure is its row, never the batch's
            problem = f"the audit failed: {type(error).__name__}: {str(error)[:300]}"
            graded, findings = all_zero(task.student, task.notebook, problem), [problem]
        # The instance of a notebook that was graded; none for one not submitted or not gradable.
        instance = outcome.instance if outcome and not outcome.problem else None
        rows.append(Row(student, graded, tuple(findings), recorded, instance))
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
    heading += "".join(f"\nredone:   {line}" for line in report.redone)
    where = [
        f"grades:   {report.grades_csv} (nbgrader export + recomputed_score + audit)",
        SANDBOX_LINES[report.sandboxed],
        *([bounds_line()] if report.sandboxed else []),
        *([report.instances] if report.instances else []),
        f"feedback: {report.course / 'feedback'}/<student>/<notebook>/<notebook>.html",
        f"overview: {report.course / PAGE} (scores, tasks, misconceptions), counts in {TASKS_CSV}"
        f" and {DIAGNOSES_CSV}",
    ]
    return rows_report_text(heading, report.rows, report.problems, where)
