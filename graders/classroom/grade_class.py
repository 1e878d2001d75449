"""Grade a whole class with nbgrader in one command: collect, autograde in parallel, record, report.

SUBMISSIONS is nbgrader's layout (DIR/<student>/<notebook>/<notebook>.ipynb) or LMS zip downloads.
The steps live in their own modules: graders.classroom.collect, graders.classroom.autograde (one submission,
and the
record of what is done), graders.classroom.class_report (feedback, audited rows, report.txt).
"""

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from graders.classroom.autograde import (
    Outcome,
    finished,
    record,
    saved_attempt,
    submission_digest,
)
from graders.classroom.class_overview import write_overview
from graders.classroom.class_report import ClassReport, Redone, audited_rows, make_feedback, report_text
from graders.classroom.collect import ZIP_FILE_PATTERN, class_list, collect, submitted_notebooks
from graders.classroom.course import Course, Task, prepare_course
from graders.classroom.distributed import autograde_on_dask
from graders.classroom.gradebook import (
    close_recording,
    register_students,
    sqlite_url,
)
from graders.classroom.hidden_instances import DEFAULT_POOL, instance_plan
from graders.classroom.references import make_references, reference_path
from graders.classroom.report_rows import flag_walk_ins, row_problems, write_grades_csv
from graders.classroom.roster import Student
from graders.classroom.sandbox import (
    Limits,
    require_sandbox,
)
from graders.core.instances import PUBLIC_INSTANCE


def grade_class(
    submissions: Path,
    course_root: Path,
    roster: dict[str, Student] | None = None,
    notebooks: list[str] | None = None,
    jobs: int = 1,
    limits: Limits | None = None,
    db_url: str | None = None,
    zip_pattern: str = ZIP_FILE_PATTERN,
    scheduler: str | None = None,
    workers: int = 0,
    instances: int = DEFAULT_POOL,
    instance_secret: str = "",
) -> ClassReport:
    """Grade every notebook of every student (found or on the roster) and write grades.csv and report.txt.

    Each student solves a hidden instance of each notebook, 1 to `instances`
    (graders.classroom.hidden_instances;
    0: everyone the public one), graded against that instance's reference (graders.classroom.references).
    """
    limits = limits or Limits()
    if limits.sandboxed:
        require_sandbox()
    course = Course(course_root.resolve(), db_url or sqlite_url(course_root / "gradebook.db"))
    chosen = notebooks or submitted_notebooks(submissions)
    prepare_course(course, chosen, limits)
    problems = collect(submissions, course, chosen, zip_pattern)
    students = class_list(course, roster or {})
    register_students(course.db_url, students)
    tasks = [Task(notebook, student.id) for notebook in chosen for student in students]
    present = [task for task in tasks if (course.submitted(task) / f"{task.notebook}.ipynb").is_file()]
    plan = instance_plan(course.grading, instances, instance_secret)
    unstarted = [_on_instance(course, task, plan.instance(task.notebook, task.student)) for task in present]
    # References of the hidden instances these submissions need, made outside any kernel before grading.
    make_references(course.grading, {(item.task.notebook, item.instance) for item in unstarted}, jobs)
    try:
        outcomes, pending, redone = resume(course, unstarted, limits)
        for outcome in autograde_all(course, pending, jobs, limits, scheduler, workers):
            # This process alone writes the class gradebook, one finished submission at a time.
            outcomes[outcome.task] = record_total(course, outcome)
    finally:
        close_recording()
    recorded_now = {outcome.task for outcome in pending} | {line.task for line in redone}
    without_feedback, redone_feedback = make_feedback(course, outcomes, recorded_now)
    for task, reason in without_feedback.items():
        outcomes[task] = dataclasses.replace(outcomes[task], skipped=(*outcomes[task].skipped, reason))
    rows = flag_walk_ins(audited_rows(course, chosen, outcomes), roster)
    report = ClassReport(
        rows,
        problems + row_problems(rows),
        len(pending),
        course.root,
        limits.sandboxed,
        plan.report_line(),
        tuple(map(str, [*redone, *redone_feedback])),
    )
    write_grades_csv(rows, report.grades_csv)
    report.report_txt.write_text(report_text(report) + "\n", encoding="utf-8")
    write_overview(rows, report.course, f"Class overview: {report.course.name}")
    return report


def resume(
    course: Course, unstarted: list[Outcome], limits: Limits
) -> tuple[dict[Task, Outcome], list[Outcome], list[Redone]]:
    """What earlier runs finished, what is left to autograde, and what an interrupted run left half done.

    A submission autograded but not recorded when the grader was killed is recorded from its attempt's
    saved outcome; one killed while autograding is autograded again. Each is named in the report.
    """
    outcomes: dict[Task, Outcome] = {}
    pending, redone = [], []
    for item in unstarted:
        task = item.task
        try:
            digest = submission_digest(course, item, limits)
        except Exception as error:  # one submission's failure is its row, never the batch's
            outcomes[task] = record_total(
                course, dataclasses.replace(item, problem=f"its files could not be read: {_error(error)}")
            )
            continue
        done = finished(course, task, digest)
        if done is not None:
            outcomes[task] = done
        elif saved := saved_attempt(course, task, digest):
            redone.append(Redone(task, "recording", "an earlier run autograded it, then was stopped"))
            outcomes[task] = record_total(course, saved)
        else:
            if course.scratch(task).is_dir():
                redone.append(Redone(task, "autograde", "an earlier run was stopped while autograding it"))
            pending.append(dataclasses.replace(item, digest=digest))
    return outcomes, pending, redone


def record_total(course: Course, outcome: Outcome) -> Outcome:
    """record(), total: an error while recording makes the submission ungradable, with the error as reason.

    If even that cannot be recorded (the gradebook itself fails), the outcome is kept unmarked: the next
    run grades it again.
    """
    try:
        return record(course, outcome)
    except Exception as error:  # one submission's failure is its row, never the batch's
        failed = dataclasses.replace(outcome, problem=f"its grade could not be recorded: {_error(error)}")
    try:
        return record(course, failed)
    except Exception:
        return failed


def _error(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


def _on_instance(course: Course, task: Task, instance: int) -> Outcome:
    """A submission to grade on `instance`, with that instance's reference (its digest comes later)."""
    reference = reference_path(course.grading, task.notebook, instance)
    relative = "" if instance == PUBLIC_INSTANCE else str(reference.relative_to(course.root))
    return Outcome(task, "", instance=instance, reference=relative)


def autograde_all(
    course: Course,
    pending: list[Outcome],
    jobs: int,
    limits: Limits,
    scheduler: str | None = None,
    workers: int = 0,
) -> Iterable[Outcome]:
    """Autograde submissions on Dask, yielding each as it finishes (the caller records it).

    The workers are a Dask `scheduler`'s, or `workers` local worker processes, or else `jobs` of them.
    """
    if pending:
        yield from autograde_on_dask(course, pending, limits, scheduler, workers or jobs)
