"""Grade one submission with nbgrader running in this process, from files the task carries.

A grading worker (a Dask worker process, one task at a time) keeps nbgrader imported and runs its
Autograde and GenerateFeedback converters in a private scratch course for each submission: the task
carries every file it needs (the submission, the assignment's source, its reference answers, the course's
nbgrader_config.py and empty gradebook) and the result carries back all the grading process keeps. The
worker reads nothing of the course, so it needs no shared file system.
"""

import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat
import psutil
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from graders.classroom import warm_kernels
from graders.classroom.course import SCRATCH_STUDENT, Task, scratch_course, scratch_task
from graders.classroom.files import copy_untrusted_tree, json_depth, remove_tree
from graders.classroom.gradebook import Marks, marks_of
from graders.classroom.sandbox import BOUNDS_VARIABLE, KERNEL_NAME, install_kernel_spec, limits_hit
from graders.classroom.submission_limits import NOTEBOOK_MAX_DEPTH
from graders.core.answer_files import answer_file_names
from graders.core.dump_record import DumpFacts
from graders.core.instances import INSTANCE_VARIABLE

# A folder's regular files as (path relative to it, with '/', content), in a task or its result.
Files = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Job:
    """One submission to autograde, with every file and setting its grading needs."""

    notebook: str
    instance: int
    config: str
    gradebook: bytes
    source: Files
    submitted: Files
    reference: bytes
    cell_seconds: int
    submission_seconds: int
    memory_limit: int
    sandboxed: bool


@dataclass(frozen=True)
class Graded:
    """What grading a Job gave: `problem` says why there is no graded notebook ('' when there is one).

    `graded` is the folder the kernel left, capped (graders.classroom.submission_limits), `feedback`
    nbgrader's feedback folder; `skipped` names what was left out of the graded folder and why.
    """

    problem: str = ""
    graded: Files = ()
    feedback: Files = ()
    skipped: tuple[str, ...] = ()
    log: str = ""
    dump: DumpFacts | None = None
    limits_hit: tuple[str, ...] = ()
    marks: Marks = Marks()


def pack(folder: Path, first: tuple[str, ...] = ()) -> tuple[Files, list[str]]:
    """A folder's regular files, copied untrusted (graders.classroom.files), and a line for each left out."""
    with tempfile.TemporaryDirectory(prefix="graders-pack-", ignore_cleanup_errors=True) as copy:
        skipped = copy_untrusted_tree(folder, Path(copy), first=first)
        files = tuple(
            (path.relative_to(copy).as_posix(), path.read_bytes())
            for path in sorted(Path(copy).rglob("*"))
            if path.is_file() and not path.is_symlink()
        )
    return files, skipped


def unpack(files: Files, target: Path) -> None:
    """Write packed files under `target` (created); a path that would leave it is refused."""
    target.mkdir(parents=True, exist_ok=True)
    for name, content in files:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise ValueError(f"a packed file's path leaves its folder: {name!r}")
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# Files of a scratch course that sit beside it, out of the kernel's view.
FAILURE_FILE = "execution-failure.json"
DUMP_FILE = "dump-facts.json"
PRUNED_FILE = "pruned-folders.json"
BOUNDS_FILE = "kernel-bounds.jsonl"
REFERENCE_FILE = "reference.json"


def grade(job: Job) -> Graded:
    """Autograde the job's submission in a scratch course of its own, then make its feedback."""
    # A leftover that cannot be removed must not cost the submission its grade.
    with tempfile.TemporaryDirectory(prefix="graders-grade-", ignore_cleanup_errors=True) as folder:
        work = Path(folder)
        scratch = work / "course"
        try:
            return _grade_in(job, work, scratch)
        finally:
            # The kernel's leftovers may be deep or odd: removed without recursion or links.
            remove_tree(scratch)


def _grade_in(job: Job, work: Path, scratch: Path) -> Graded:
    local = scratch_course(scratch)
    task = scratch_task(Task(job.notebook, SCRATCH_STUDENT))
    (scratch / "nbgrader_config.py").parent.mkdir(parents=True)
    (scratch / "nbgrader_config.py").write_text(job.config, encoding="utf-8")
    (scratch / "gradebook.db").write_bytes(job.gradebook)
    unpack(job.source, local.source(job.notebook))
    unpack(job.submitted, local.submitted(task))
    (work / REFERENCE_FILE).write_bytes(job.reference)
    install_kernel_spec(work / "jupyter", job.memory_limit, job.sandboxed)
    # The sandboxed kernel has no network, so it talks to nbgrader over Unix sockets beside its connection
    # file, in a folder of its own that the sandbox binds: short, as a socket path must fit in 107 bytes.
    runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
    log = work / "autograde.log"
    config = _config(job, work, scratch, runtime)
    timed_out = threading.Event()
    try:
        with _kernel_environment(job, work), _logged(log) as logger, _deadline(job, timed_out):
            failed = _run(Autograde, config, scratch, logger)
    finally:
        remove_tree(runtime)
    text = log.read_text(encoding="utf-8", errors="replace")
    hit = limits_hit(work / BOUNDS_FILE)
    if timed_out.is_set():
        problem = f"stopped after {job.submission_seconds} s: nbgrader did not finish in time"
        return Graded(problem, log=text, limits_hit=hit)
    if failed:
        return Graded(
            _failure(work, local.submitted(task) / f"{job.notebook}.ipynb"), log=text, limits_hit=hit
        )
    notebook = local.autograded(task) / f"{job.notebook}.ipynb"
    marks = marks_of(nbformat.read(notebook, as_version=4))
    kept = (notebook.name, *answer_file_names(job.notebook))
    graded, skipped = pack(local.autograded(task), kept)
    with _logged(log) as logger:
        _run(GenerateFeedback, config, scratch, logger)
    feedback, _ = pack(local.feedback(task)) if local.feedback(task).is_dir() else ((), [])
    return Graded(
        "",
        graded,
        feedback,
        tuple(f"the kernel left {line}" for line in [*_pruned(work), *skipped]),
        log.read_text(encoding="utf-8", errors="replace"),
        _dump(work),
        hit,
        marks,
    )


def _config(job: Job, work: Path, scratch: Path, runtime: Path) -> Config:
    """The course's nbgrader configuration, with this submission's settings on top (as flags set them)."""
    config = PyFileConfigLoader("nbgrader_config.py", str(scratch)).load_config()
    config.merge(
        Config(
            {
                "CourseDirectory": {
                    "root": str(scratch),
                    "db_url": scratch_course(scratch).db_url,
                    "assignment_id": job.notebook,
                    "student_id": SCRATCH_STUDENT,
                },
                "BaseConverter": {"force": True},
                "Autograde": {"create_student": True},
                "Execute": {"kernel_name": KERNEL_NAME, "timeout": job.cell_seconds},
                "ExecuteRecordingFailure": {"failure_file": str(work / FAILURE_FILE)},
                "ScoreOutsideKernel": {
                    "reference_file": str(work / REFERENCE_FILE),
                    "instance": job.instance,
                    "dump_file": str(work / DUMP_FILE),
                },
                "PruneKernelFolder": {"report_file": str(work / PRUNED_FILE)},
                "KernelManager": {"transport": "ipc", "connection_file": str(runtime / "kernel.json")},
            }
        )
    )
    return config


def _run(converter: type, config: Config, scratch: Path, logger: logging.Logger) -> bool:
    """Run an nbgrader converter on the scratch course; True if it failed (its log says why)."""
    here = os.getcwd()  # nbgrader's converters change to the course's folder, and back
    try:
        directory = CourseDirectory(config=config, root=str(scratch), log=logger)
        converter(coursedir=directory, config=config, log=logger).start()
    except Exception:  # nbgrader raises for a notebook it could not convert, having logged why
        logger.exception("nbgrader failed")
        return True
    finally:
        os.chdir(here)
    return False


@contextlib.contextmanager
def _logged(log: Path) -> Iterator[logging.Logger]:
    """A logger of nbgrader's messages for this submission, appended to `log`, which also takes what the
    kernel prints to its standard output and error (it inherits this process's)."""
    logger = logging.getLogger(f"graders.grading_worker.{id(log)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    saved = [os.dup(1), os.dup(2)]
    try:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for descriptor in (1, 2):
            os.dup2(handler.stream.fileno(), descriptor)
        yield logger
    finally:
        for descriptor, original in zip((1, 2), saved, strict=True):
            os.dup2(original, descriptor)
            os.close(original)
        logger.removeHandler(handler)
        handler.close()


@contextlib.contextmanager
def _kernel_environment(job: Job, work: Path) -> Iterator[None]:
    """The variables this submission's kernel inherits, set only while it is graded.

    A worker grades one submission at a time (one thread per worker), and nbgrader itself sets its
    NBGRADER_EXECUTION in this process the same way.
    """
    jupyter = os.pathsep.join(filter(None, [str(work / "jupyter"), os.environ.get("JUPYTER_PATH")]))
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    variables = {
        # Kernels fork from this worker's zygote, which imports torch and the course once for all of them.
        **(warm_kernels.kernel_environment() if job.sandboxed else {}),
        INSTANCE_VARIABLE: str(job.instance),
        BOUNDS_VARIABLE: str(work / BOUNDS_FILE),
        "JUPYTER_PATH": jupyter,
        # nbgrader's Gradebook runs `alembic` by name.
        "PATH": path,
    }
    # Not nbgrader.utils.setenv: it restores nothing it replaced (it deletes PATH afterwards).
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _deadline(job: Job, timed_out: threading.Event) -> Iterator[None]:
    """End the kernels this submission started once it has had its time: nbgrader then fails.

    Processes this worker ran before (its zygote) are left alone.
    """
    before = set(psutil.Process().children(recursive=True))

    def end_kernels() -> None:
        timed_out.set()
        for child in set(psutil.Process().children(recursive=True)) - before:
            with contextlib.suppress(psutil.Error):
                child.kill()

    timer = threading.Timer(job.submission_seconds, end_kernels)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


# What the error that stopped nbgrader's Execute means for the student's notebook.
EXECUTION_FAILURES = {
    "CellTimeoutError": "a cell ran past the time limit and did not stop when interrupted",
    "DeadKernelError": "the kernel died while running the notebook (os._exit, a crash or a fatal signal)",
    "MemoryError": "grading it ran out of memory (outputs of hundreds of MB?)",
}


def _failure(work: Path, notebook: Path) -> str:
    """Why nbgrader could not grade a notebook: the error its Execute recorded, or the notebook itself."""
    try:
        failure = json.loads((work / FAILURE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return notebook_problem(notebook) or "nbgrader could not grade it: see its log"
    return EXECUTION_FAILURES.get(
        failure["error"], f"it could not run: {failure['error']}: {failure['message']}"
    )


def _pruned(work: Path) -> list[str]:
    """The folders PruneKernelFolder removed from what the kernel left (graders.classroom.preprocessors)."""
    try:
        return list(map(str, json.loads((work / PRUNED_FILE).read_text(encoding="utf-8"))))
    except (OSError, ValueError, TypeError):
        return []


def _dump(work: Path) -> DumpFacts | None:
    try:
        return DumpFacts.from_mapping(json.loads((work / DUMP_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


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
