"""Autograde one submission in a scratch course of its own, and record it in the class gradebook.

Each attempt at a submission gets its own `nbgrader autograde` in a fresh scratch course holding an empty
copy of the gradebook, so parallel workers never share a sqlite file, nor a retry an earlier attempt's
folder; only the grading process writes the class gradebook. A finished submission is marked under
grading/done/ with a digest of all its grade depends on, so a rerun grades only what is new or changed.
"""

import dataclasses
import datetime
import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from graders.classroom.course import SCRATCH_STUDENT, Course, Task, scratch_course, scratch_task
from graders.classroom.files import copy_untrusted_tree, json_depth, remove_tree
from graders.classroom.gradebook import (
    NbgraderError,
    record_autograded,
    record_ungradable,
    run_nbgrader,
)
from graders.classroom.sandbox import (
    BOUNDS_VARIABLE,
    KERNEL_NAME,
    Limits,
    limits_hit,
)
from graders.classroom.submission_limits import NOTEBOOK_MAX_DEPTH
from graders.core.answer_files import ANSWER_FILE, answer_file_names
from graders.core.dump_record import DumpFacts
from graders.core.instances import INSTANCE_VARIABLE, PUBLIC_INSTANCE
from graders.core.paths import SOLUTIONS_DIR, answers_dir


@dataclass(frozen=True)
class Outcome:
    """What autograding one submission gave: `problem` says why nbgrader produced no graded notebook.

    `scratch` is the scratch course of the attempt that gave it, None before one was made. `instance` is
    the problem instance it was graded on, `reference` that instance's reference answers (relative to the
    course, '' for the public answers/), `dump` what ScoreOutsideKernel read of its dump cell.
    `limits_hit` holds a finding for each limit of its kernel's control group that it reached.
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

    def reference_file(self, course: Course) -> Path:
        """The reference answers this submission is graded against."""
        if self.reference:
            return course.root / self.reference
        return answers_dir() / f"{self.task.notebook}.json"


def autograde(course: Course, outcome: Outcome, limits: Limits) -> Outcome:
    """Run `nbgrader autograde` on one submission in a fresh scratch course; a bad notebook never raises."""
    task = outcome.task
    try:
        scratch = new_scratch(course, task)
        lay_out_scratch(course, task, scratch)
    except OSError as error:
        return dataclasses.replace(outcome, problem=f"its files could not be copied for grading: {error}")
    outcome = dataclasses.replace(outcome, scratch=scratch)
    failure_file = scratch / "execution-failure.json"
    dump_file = scratch / "dump-facts.json"
    pruned_file = scratch / PRUNED_FOLDERS
    submitted_notebook = scratch_course(scratch).submitted(scratch_task(task)) / f"{task.notebook}.ipynb"
    too_deep = nesting_problem(submitted_notebook)
    if too_deep:  # nbgrader's and nbformat's readers recurse: such a file never reaches them
        return dataclasses.replace(outcome, problem=too_deep)
    arguments = [
        "autograde",
        task.notebook,
        f"--student={SCRATCH_STUDENT}",
        "--force",
        f"--Execute.kernel_name={KERNEL_NAME}",
        f"--Execute.timeout={limits.cell_seconds(task.notebook)}",
        f"--CourseDirectory.db_url={scratch_course(scratch).db_url}",
        f"--ExecuteRecordingFailure.failure_file={failure_file}",
        f"--ScoreOutsideKernel.reference_file={outcome.reference_file(course)}",
        f"--ScoreOutsideKernel.instance={outcome.instance}",
        f"--ScoreOutsideKernel.dump_file={dump_file}",
        f"--PruneKernelFolder.report_file={pruned_file}",
    ]
    log = scratch / "autograde.log"
    seconds = limits.submission_seconds(task.notebook)
    # The sandboxed kernel has no network, so it talks to nbgrader over Unix sockets beside its connection
    # file, in a folder of its own that the sandbox binds: short, as a socket path must fit in 107 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
    arguments += [
        "--KernelManager.transport=ipc",
        f"--KernelManager.connection_file={runtime / 'kernel.json'}",
    ]
    try:
        # The kernel learns its instance number (no secret); the reference stays outside with nbgrader.
        run_nbgrader(
            arguments,
            scratch,
            log,
            seconds,
            course.jupyter,
            {INSTANCE_VARIABLE: str(outcome.instance), BOUNDS_VARIABLE: str(kernel_bounds(scratch))},
        )
    except subprocess.TimeoutExpired:
        problem = f"stopped after {seconds} s: nbgrader did not finish in time"
        return dataclasses.replace(outcome, problem=problem)
    except NbgraderError:
        return dataclasses.replace(outcome, problem=failure_reason(submitted_notebook, failure_file))
    finally:
        remove_tree(runtime)
    try:
        facts = DumpFacts.from_mapping(json.loads(dump_file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        facts = None
    return dataclasses.replace(outcome, dump=facts)


def kernel_bounds(scratch: Path) -> Path:
    """Where the kernel's launcher reports its bounds and the limits it hit (graders.classroom.sandbox)."""
    return scratch / "kernel-bounds.jsonl"


def new_scratch(course: Course, task: Task) -> Path:
    """An empty folder for one attempt's scratch course, under the task's: no two attempts share one."""
    attempts = course.scratch(task)
    attempts.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="attempt-", dir=attempts))


def lay_out_scratch(course: Course, task: Task, scratch: Path) -> None:
    """A course of one assignment and one submission, with its own copy of the empty gradebook."""
    shutil.copyfile(course.root / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copyfile(course.template / "gradebook.db", scratch / "gradebook.db")
    local, template = scratch_course(scratch), scratch_course(course.template)
    shutil.copytree(template.source(task.notebook), local.source(task.notebook))
    submitted = local.submitted(scratch_task(task))
    skipped = copy_untrusted_tree(course.submitted(task), submitted)
    if skipped:  # collect copied regular files only, so this is a change behind our back
        raise OSError(f"the submission changed while being graded: {'; '.join(skipped)}")
    # The graded answer file must come from this run's dump, never from the submission.
    for shipped in submitted.rglob("*"):
        if shipped.name.endswith(ANSWER_FILE) and not shipped.is_dir():
            shipped.unlink()


# What the error that stopped nbgrader's Execute means for the student's notebook.
EXECUTION_FAILURES = {
    "CellTimeoutError": "a cell ran past the time limit and did not stop when interrupted",
    "DeadKernelError": "the kernel died while running the notebook (os._exit, a crash or a fatal signal)",
    "MemoryError": "grading it ran out of memory (outputs of hundreds of MB?)",
}


def failure_reason(notebook: Path, failure_file: Path) -> str:
    """Why nbgrader could not grade a notebook: the error its Execute recorded, or the notebook itself."""
    try:
        failure = json.loads(failure_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return notebook_problem(notebook) or "nbgrader could not grade it: see its log"
    return EXECUTION_FAILURES.get(
        failure["error"], f"it could not run: {failure['error']}: {failure['message']}"
    )


def nesting_problem(notebook: Path) -> str:
    """Why a notebook's JSON is refused unread for its depth ('' when it is not too deep, or unreadable)."""
    try:
        depth = json_depth(notebook.read_bytes(), NOTEBOOK_MAX_DEPTH)
    except OSError:
        return ""
    if depth <= NOTEBOOK_MAX_DEPTH:
        return ""
    return f"the notebook's JSON is nested more than {NOTEBOOK_MAX_DEPTH} levels deep (a notebook needs 10)"


def notebook_problem(notebook: Path) -> str:
    """What makes a submitted file unreadable as a notebook ('' when nbformat reads it)."""
    too_deep = nesting_problem(notebook)
    if too_deep:
        return too_deep
    try:
        nbformat.read(notebook, as_version=4)
    except nbformat.reader.NotJSONError:
        return "the notebook is not valid JSON"
    except nbformat.ValidationError:
        return "the notebook does not follow the .ipynb format"
    except (OSError, ValueError, RecursionError) as error:
        return f"the notebook cannot be read: {error}"
    return ""


def record(course: Course, outcome: Outcome) -> Outcome:
    """Move a finished submission into the course and the class gradebook, then mark it done.

    The graded folder is what the kernel left: only its regular files are copied, up to
    graders.classroom.submission_limits'
    caps, the rest is named. The old mark goes first, so a grader killed midway records it again.
    """
    task = outcome.task
    scratch = outcome.scratch
    if scratch:  # what the kernel's launcher saw it hit, however nbgrader ended
        outcome = dataclasses.replace(outcome, limits_hit=limits_hit(kernel_bounds(scratch)))
    target = course.autograded(task)
    course.done(task).unlink(missing_ok=True)
    feedback_mark(course, task).unlink(missing_ok=True)
    remove_tree(target)
    remove_tree(course.feedback(task))
    if not outcome.problem:
        graded = scratch_course(scratch).autograded(scratch_task(task))
        kept = {f"{task.notebook}.ipynb", *answer_file_names(task.notebook)}
        skipped = [*_pruned(scratch), *copy_untrusted_tree(graded, target, first=kept)]
        outcome = dataclasses.replace(outcome, skipped=tuple(f"the kernel left {line}" for line in skipped))
        notebook = target / f"{task.notebook}.ipynb"
        if not notebook.is_file():
            outcome = dataclasses.replace(outcome, problem="nbgrader's graded notebook could not be kept")
        elif too_deep := nesting_problem(notebook):
            outcome = dataclasses.replace(outcome, problem=f"its graded notebook is refused: {too_deep}")
        if outcome.problem:
            remove_tree(target)
    failure_log = course.log(f"autograde/{task.notebook}/{task.student}.log")
    failure_log.unlink(missing_ok=True)
    if outcome.problem:
        if scratch and (scratch / "autograde.log").is_file():
            failure_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scratch / "autograde.log", failure_log)
        record_ungradable(course.db_url, task.notebook, task.student, _timestamp(course.submitted(task)))
    else:
        record_autograded(
            course.db_url, notebook, task.notebook, task.student, _timestamp(course.submitted(task))
        )
    _write_outcome(course.done(task), outcome)
    # Every attempt's scratch course goes, a killed attempt's too: its nbgrader died with its grader.
    remove_tree(course.scratch(task))
    return outcome


# Where graders.classroom.preprocessors.PruneKernelFolder names what it removed, out of the kernel's view.
PRUNED_FOLDERS = "pruned-folders.json"


def _pruned(scratch: Path) -> list[str]:
    """The folders PruneKernelFolder removed from what the kernel left (graders.classroom.preprocessors)."""
    try:
        return list(map(str, json.loads((scratch / PRUNED_FOLDERS).read_text(encoding="utf-8"))))
    except (OSError, ValueError, TypeError):
        return []


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
