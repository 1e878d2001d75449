"""Autograde one submission through a grading worker, and record it in the class gradebook.

Each attempt at a submission gets an attempt folder in the course and a job carrying its files; a worker
(graders.classroom.grading_worker) grades it in a scratch course of its own, with an empty copy of the
gradebook, and what it returns is saved in the attempt folder before it is recorded. Only the grading
process writes the class gradebook. A finished submission is marked under grading/done/ with a digest of
all its grade depends on, so a rerun grades only what is new or changed.
"""

import dataclasses
import datetime
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.utils import parse_utc

from graders.classroom.course import Course, Task, scratch_course
from graders.classroom.files import copy_untrusted_tree, remove_tree
from graders.classroom.gradebook import Marks, record_autograded, record_ungradable
from graders.classroom.grading_worker import Graded, Job, grade, nesting_problem, pack, unpack
from graders.classroom.sandbox import Limits
from graders.core.answer_files import ANSWER_FILE, answer_file_names
from graders.core.dump_record import DumpFacts
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.paths import SOLUTIONS_DIR, answers_dir


@dataclass(frozen=True)
class Outcome:
    """What autograding one submission gave: `problem` says why nbgrader produced no graded notebook.

    `scratch` is the scratch course of the attempt that gave it, None before one was made. `instance` is
    the problem instance it was graded on, `reference` that instance's reference answers (relative to the
    course, '' for the public answers/), `dump` what ScoreOutsideKernel read of its dump cell.
    `limits_hit` holds a finding for each limit of its kernel's control group that it reached, `marks` what
    the class gradebook records of its graded notebook.
    """

    task: Task
    digest: str
    problem: str = ""
    skipped: tuple[str, ...] = ()
    scratch: Path | None = None
    instance: int = PUBLIC_INSTANCE
    reference: str = ""
    dump: DumpFacts | None = None
    limits_hit: tuple[str, ...] = ()
    marks: Marks = Marks()

    def reference_file(self, course: Course) -> Path:
        """The reference answers this submission is graded against."""
        if self.reference:
            return course.root / self.reference
        return answers_dir() / f"{self.task.notebook}.json"


def autograde(course: Course, outcome: Outcome, limits: Limits) -> Outcome:
    """Autograde one submission in this process, as a grading worker would; a bad notebook never raises."""
    outcome, job = prepare(course, outcome, limits)
    return keep(outcome, grade(job)) if job else outcome


UNCOPIED = "its files could not be copied for grading"


def prepare(course: Course, outcome: Outcome, limits: Limits) -> tuple[Outcome, Job | None]:
    """A fresh attempt folder for the submission and the job a worker grades it from (None: it cannot be).

    The job carries every file its grading reads, so the worker needs no access to the course.
    """
    task = outcome.task
    try:
        scratch = new_scratch(course, task)
    except OSError as error:
        return dataclasses.replace(outcome, problem=f"{UNCOPIED}: {error}"), None
    outcome = dataclasses.replace(outcome, scratch=scratch)
    too_deep = nesting_problem(course.submitted(task) / f"{task.notebook}.ipynb")
    if too_deep:  # nbgrader's and nbformat's readers recurse: such a file never reaches them
        return dataclasses.replace(outcome, problem=too_deep), None
    try:
        submitted, skipped = pack(course.submitted(task))
        if skipped:  # collect copied regular files only, so this is a change behind our back
            raise OSError(f"the submission changed while being graded: {'; '.join(skipped)}")
        source, _ = pack(scratch_course(course.template).source(task.notebook))
        job = Job(
            task.notebook,
            outcome.instance,
            (course.root / "nbgrader_config.py").read_text(encoding="utf-8"),
            (course.template / "gradebook.db").read_bytes(),
            source,
            # The graded answer file must come from this run's dump, never from the submission.
            tuple((name, content) for name, content in submitted if not name.endswith(ANSWER_FILE)),
            outcome.reference_file(course).read_bytes(),
            limits.cell_seconds(task.notebook),
            limits.submission_seconds(task.notebook),
            limits.memory_limit,
            limits.sandboxed,
        )
    except OSError as error:
        return dataclasses.replace(outcome, problem=f"{UNCOPIED}: {error}"), None
    return outcome, job


def keep(outcome: Outcome, graded: Graded) -> Outcome:
    """Write what a worker returned into the submission's attempt folder, then save its outcome there.

    A grader killed after this records the submission from the attempt on its next run.
    """
    scratch = outcome.scratch
    assert scratch is not None, "keep() needs the attempt prepare() made"
    unpack(graded.graded, scratch / GRADED)
    unpack(graded.feedback, scratch / FEEDBACK)
    (scratch / LOG).write_text(graded.log, encoding="utf-8")
    kept = dataclasses.replace(
        outcome,
        problem=graded.problem,
        skipped=graded.skipped,
        dump=graded.dump,
        limits_hit=graded.limits_hit,
        marks=graded.marks,
    )
    return save_attempt(kept)


# An attempt folder's parts: the graded folder and nbgrader's feedback a worker returned, and its log.
GRADED = "graded"
FEEDBACK = "feedback"
LOG = "autograde.log"


def new_scratch(course: Course, task: Task) -> Path:
    """An empty folder for one attempt at the task, under the task's: no two attempts share one."""
    attempts = course.scratch(task)
    attempts.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="attempt-", dir=attempts))


def record(course: Course, outcome: Outcome) -> Outcome:
    """Move a finished submission from its attempt folder into the course and the class gradebook, then mark
    it done.

    The graded folder is copied as untrusted, up to graders.classroom.submission_limits' caps, the rest is
    named. The old mark goes first, so a grader killed midway records it again. The attempt stays for its
    feedback (graders.classroom.class_report.make_feedback); every other attempt at the task goes.
    """
    task = outcome.task
    scratch = outcome.scratch
    target = course.autograded(task)
    course.done(task).unlink(missing_ok=True)
    feedback_mark(course, task).unlink(missing_ok=True)
    remove_tree(target)
    remove_tree(course.feedback(task))
    if not outcome.problem:
        kept = {f"{task.notebook}.ipynb", *answer_file_names(task.notebook)}
        skipped = copy_untrusted_tree(scratch / GRADED, target, first=kept) if scratch else []
        outcome = dataclasses.replace(outcome, skipped=(*outcome.skipped, *skipped))
        notebook = target / f"{task.notebook}.ipynb"
        if not notebook.is_file():
            outcome = dataclasses.replace(outcome, problem="nbgrader's graded notebook could not be kept")
        elif too_deep := nesting_problem(notebook):
            outcome = dataclasses.replace(outcome, problem=f"its graded notebook is refused: {too_deep}")
        if outcome.problem:
            remove_tree(target)
    failure_log = course.log(f"autograde/{task.notebook}/{task.student}.log")
    failure_log.unlink(missing_ok=True)
    timestamp = _timestamp(course.submitted(task))
    if outcome.problem:
        if scratch and (scratch / LOG).is_file():
            failure_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scratch / LOG, failure_log)
        record_ungradable(course.db_url, task.notebook, task.student, timestamp)
    else:
        record_autograded(
            course.db_url,
            task.notebook,
            outcome.marks,
            task.notebook,
            task.student,
            timestamp,
            course.directory.config,
        )
    _write_outcome(course.done(task), outcome)
    # Earlier attempts are stale, a killed one's too: its worker's result never came back. A graded one's
    # stays until its feedback is kept.
    if outcome.problem:
        remove_tree(course.scratch(task))
    for attempt in course.scratch(task).glob("attempt-*"):
        if attempt != scratch:
            remove_tree(attempt)
    return outcome


def _write_outcome(path: Path, outcome: Outcome) -> None:
    """An outcome as JSON, written whole or not at all (a killed grader leaves no half a record)."""
    fields = {
        "digest": outcome.digest,
        "problem": outcome.problem,
        "skipped": list(outcome.skipped),
        "instance": outcome.instance,
        "reference": outcome.reference,
        "dump": dataclasses.asdict(outcome.dump) if outcome.dump else None,
        "limits_hit": list(outcome.limits_hit),
        "marks": outcome.marks.to_json(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(fields), encoding="utf-8")
    partial.replace(path)


def _read_outcome(path: Path, task: Task) -> Outcome | None:
    """The outcome _write_outcome wrote at `path`, if any."""
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    skipped = tuple(map(str, done.get("skipped", [])))
    return Outcome(
        task,
        str(done.get("digest", "")),
        str(done.get("problem", "")),
        skipped,
        instance=int(done.get("instance", PUBLIC_INSTANCE)),
        reference=str(done.get("reference", "")),
        dump=DumpFacts.from_mapping(done.get("dump")),
        limits_hit=tuple(map(str, done.get("limits_hit", []))),
        marks=Marks.from_json(done.get("marks")),
    )


def feedback_mark(course: Course, task: Task) -> Path:
    """Marks a submission whose nbgrader feedback is complete (graders.classroom.class_report); recording
    removes it."""
    return course.grading / "feedback-done" / task.notebook / task.student


# An attempt's own record of its outcome, beside its scratch course: a grader killed before recording it
# records it on the next run instead of grading it again.
ATTEMPT_OUTCOME = "outcome.json"


def save_attempt(outcome: Outcome) -> Outcome:
    """Keep a finished attempt's outcome in its scratch folder (the kernel never sees that folder)."""
    if outcome.scratch is not None:
        _write_outcome(outcome.scratch / ATTEMPT_OUTCOME, outcome)
    return outcome


def saved_attempt(course: Course, task: Task, digest: str) -> Outcome | None:
    """The outcome of an earlier run's finished but unrecorded attempt at exactly this submission, if any."""
    for attempt in sorted(course.scratch(task).glob(f"attempt-*/{ATTEMPT_OUTCOME}")):
        outcome = _read_outcome(attempt, task)
        if outcome is not None and outcome.digest == digest:
            return dataclasses.replace(outcome, scratch=attempt.parent)
    return None


def _timestamp(submitted: Path) -> datetime.datetime | None:
    """The submission time nbgrader would record (zip_collect and nbgrader collect write timestamp.txt)."""
    stamp = submitted / "timestamp.txt"
    try:
        return parse_utc(stamp.read_text(encoding="utf-8").strip()) if stamp.is_file() else None
    except ValueError:  # nbgrader itself refuses such a submission, and says so in its log
        return None


def recorded(course: Course, task: Task) -> Outcome | None:
    """The outcome an earlier run recorded for the task under grading/done/, if any."""
    return _read_outcome(course.done(task), task)


def recorded_outcomes(course: Course, notebooks: list[str]) -> dict[Task, Outcome]:
    """Every outcome recorded for the notebooks, as `nbgrader export` in the course finds them."""
    tasks = [
        Task(notebook, path.stem)
        for notebook in notebooks
        for path in course.done_folder(notebook).glob("*.json")
    ]
    return {task: outcome for task in tasks if (outcome := recorded(course, task)) is not None}


def finished(course: Course, task: Task, digest: str) -> Outcome | None:
    """The recorded outcome of an earlier run, if it graded exactly this submission under these limits."""
    outcome = recorded(course, task)
    if outcome is None or outcome.digest != digest:
        return None
    graded_notebook_lost = not outcome.problem and not course.autograded(task).is_dir()
    return None if graded_notebook_lost else outcome


def submission_digest(course: Course, outcome: Outcome, limits: Limits) -> str:
    """Fingerprint of all a grade depends on: the submitted files, solution, instance, its reference answers
    and the limits."""
    task = outcome.task
    digest = hashlib.sha256()
    folder = course.submitted(task)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    for path in (SOLUTIONS_DIR / f"{task.notebook}.ipynb", outcome.reference_file(course)):
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(f"instance {outcome.instance}\0".encode())
    digest.update(f"{limits.cell_seconds(task.notebook)} {limits.memory_limit} {limits.sandboxed}".encode())
    return digest.hexdigest()
