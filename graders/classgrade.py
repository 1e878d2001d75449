"""Grade a whole class with nbgrader: collect, autograde in parallel, audit, feedback, export, report.

SUBMISSIONS is nbgrader's layout (DIR/<student>/<notebook>/<notebook>.ipynb) or LMS zip downloads (a
.zip, or a folder of them) that nbgrader zip_collect sorts by file name. Each submission is autograded
by its own `nbgrader autograde` in a scratch course holding an empty copy of the gradebook, so parallel
workers never share a sqlite file; this process alone writes the class gradebook (graders.gradebook).
A finished submission is recorded under grading/done/, so a rerun grades only what is new or changed.
"""

import dataclasses
import datetime
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from nbgrader.utils import parse_utc
from tqdm import tqdm

from graders.audit import audit_autograded
from graders.course import make_course_dir
from graders.files import copy_untrusted_tree
from graders.gradebook import (
    NbgraderError,
    export_rows,
    record_autograded,
    record_ungradable,
    register_students,
    run_nbgrader,
    sqlite_url,
)
from graders.paths import SOLUTIONS_DIR, answers_dir
from graders.report import EXPORT_COLUMNS, Problem, score_table, write_csv
from graders.roster import Student
from graders.sandbox import (
    KERNEL_NAME,
    MEMORY_LIMIT_BYTES,
    SUBMISSION_TIMEOUT_CELLS,
    cell_timeout,
    install_kernel_spec,
    require_sandbox,
)
from graders.saving import answer_file_names
from graders.specs import notebooks as notebooks_with_specs

CLASS_COLUMNS = [*EXPORT_COLUMNS, "recomputed_score", "audit"]
# Our own records inside the course directory; its presence marks a course this module laid out.
GRADING = "grading"
# LMS downloads name each file after its student; `{notebook}` stands for the notebook's name.
ZIP_FILE_PATTERN = r".*/(?P<student_id>[^/]+)_(?P<file_id>{notebook})\.ipynb$"
# A scratch course holds one submission under this id, so an odd real id never meets nbgrader's globs;
# the class gradebook gets the real id (graders.gradebook.record_autograded).
SCRATCH_STUDENT = "student"
# nbgrader's gradebook stores a student id in 128 characters.
MAX_STUDENT_ID_CHARS = 128


@dataclass(frozen=True)
class Limits:
    """How long and how much memory one student's notebook may take."""

    cell_timeout: int | None = None
    memory_limit: int = MEMORY_LIMIT_BYTES
    sandboxed: bool = True

    def cell_seconds(self, notebook: str) -> int:
        return self.cell_timeout or cell_timeout(notebook)

    def submission_seconds(self, notebook: str) -> int:
        return self.cell_seconds(notebook) * SUBMISSION_TIMEOUT_CELLS


@dataclass(frozen=True)
class Task:
    """One student's notebook to grade."""

    notebook: str
    student: str


@dataclass(frozen=True)
class Outcome:
    """What autograding one submission gave: `problem` says why nbgrader produced no graded notebook."""

    task: Task
    digest: str
    problem: str = ""
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Course:
    """A course directory laid out for grading, and where each file of one task lives in it."""

    root: Path
    db_url: str

    @property
    def grading(self) -> Path:
        return self.root / GRADING

    @property
    def template(self) -> Path:
        return self.grading / "template"

    @property
    def jupyter(self) -> Path:
        return self.root / "jupyter"

    def submitted(self, task: Task) -> Path:
        return self.root / "submitted" / task.student / task.notebook

    def autograded(self, task: Task) -> Path:
        return self.root / "autograded" / task.student / task.notebook

    def feedback(self, task: Task) -> Path:
        return self.root / "feedback" / task.student / task.notebook

    def release(self, notebook: str) -> Path:
        return self.root / "release" / notebook / f"{notebook}.ipynb"

    def scratch(self, task: Task) -> Path:
        # nbgrader globs the paths it is given: a student id with * or [ ] must not be part of them.
        return (
            self.grading / "scratch" / task.notebook / hashlib.sha256(task.student.encode()).hexdigest()[:16]
        )

    def done(self, task: Task) -> Path:
        return self.grading / "done" / task.notebook / f"{task.student}.json"

    def log(self, name: str) -> Path:
        return self.grading / "logs" / name


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


class SubmissionsError(ValueError):
    """The submissions cannot be graded as given; the message says why."""


def grade_class(
    submissions: Path,
    course_root: Path,
    roster: dict[str, Student] | None = None,
    notebooks: list[str] | None = None,
    jobs: int = 1,
    limits: Limits = Limits(),
    db_url: str | None = None,
    zip_pattern: str = ZIP_FILE_PATTERN,
) -> ClassReport:
    """Grade every notebook of every student (found or on the roster) and write grades.csv and report.txt."""
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
    digests = {task: _digest(course, task, limits) for task in present}
    outcomes = {task: _finished(course, task, digest) for task, digest in digests.items()}
    pending = [Outcome(task, digests[task]) for task, done in outcomes.items() if done is None]
    for outcome in autograde_all(course, pending, jobs, limits):
        outcomes[outcome.task] = outcome
    problems += make_feedback(course, chosen)
    rows, row_problems = audited_rows(course, chosen, outcomes)
    problems += row_problems + roster_problems(students, roster)
    report = ClassReport(rows, problems, len(pending), course.root, limits.sandboxed)
    write_csv(rows, CLASS_COLUMNS, report.grades_csv)
    report.report_txt.write_text(report_text(report) + "\n", encoding="utf-8")
    return report


def course_notebooks() -> list[str]:
    """Notebooks that have both a solution and grading specs."""
    return [name for name in notebooks_with_specs() if (SOLUTIONS_DIR / f"{name}.ipynb").is_file()]


def _zip_names(archive: Path) -> list[str]:
    try:
        with zipfile.ZipFile(archive) as opened:
            return opened.namelist()
    except (OSError, zipfile.BadZipFile) as error:
        raise SubmissionsError(f"cannot read {archive}: {error}") from None


def submitted_notebooks(submissions: Path) -> list[str]:
    """The course notebooks that appear in the submissions (folders, or file names inside zips)."""
    zips = archives(submissions)
    if zips:
        names = [name for archive in zips for name in _zip_names(archive)]
        found = [nb for nb in course_notebooks() if any(name.endswith(f"{nb}.ipynb") for name in names)]
    else:
        found = [
            nb for nb in course_notebooks() if any(path.is_dir() for path in submissions.glob(f"*/{nb}"))
        ]
    if not found:
        raise SubmissionsError(
            f"no submissions of any course notebook in {submissions} "
            "(expected <student>/<notebook>/<notebook>.ipynb or zip files; "
            f"course notebooks: {', '.join(course_notebooks())})"
        )
    return found


def archives(submissions: Path) -> list[Path]:
    """The zip files to collect: SUBMISSIONS itself, or the zips in a folder without student folders."""
    if submissions.is_file() and submissions.suffix == ".zip":
        return [submissions]
    if not submissions.is_dir():
        raise SubmissionsError(f"{submissions} is neither a folder of submissions nor a .zip file")
    has_folders = any(path.is_dir() for path in submissions.iterdir())
    return [] if has_folders else sorted(submissions.glob("*.zip"))


def prepare_course(course: Course, notebooks: list[str], limits: Limits) -> None:
    """Lay out the course, a template course (same assignments, empty gradebook) and the sandbox kernel."""
    if course.root.exists() and any(course.root.iterdir()) and not course.grading.is_dir():
        raise SubmissionsError(
            f"{course.root} is not empty and was not laid out by `python -m graders class`"
        )
    solutions = [SOLUTIONS_DIR / f"{name}.ipynb" for name in notebooks]
    for root, db_url in (
        (course.template, sqlite_url(course.template / "gradebook.db")),
        (course.root, course.db_url),
    ):
        stale = [solution for solution in solutions if not _generated(root, solution)]
        make_course_dir(root, solutions)
        for solution in stale:
            arguments = [
                "generate_assignment",
                solution.stem,
                "--force",
                f"--CourseDirectory.db_url={db_url}",
            ]
            run_nbgrader(arguments, root, course.log(f"generate_assignment-{solution.stem}.log"))
    install_kernel_spec(course.jupyter, limits.memory_limit, limits.sandboxed)


def _generated(root: Path, solution: Path) -> bool:
    source = root / "source" / solution.stem / solution.name
    released = root / "release" / solution.stem / solution.name
    return released.is_file() and source.is_file() and source.read_bytes() == solution.read_bytes()


def collect(submissions: Path, course: Course, notebooks: list[str], zip_pattern: str) -> list[Problem]:
    """Bring the submissions into course/submitted/, without any answer file a student shipped."""
    zips = archives(submissions)
    if zips:
        return collect_zips(zips, course, notebooks, zip_pattern)
    return collect_folders(submissions, course, notebooks)


def collect_folders(submissions: Path, course: Course, notebooks: list[str]) -> list[Problem]:
    """Copy DIR/<student>/<notebook>/ into the course: regular files only, never an answer file.

    A student's folder may hold anything (symlinks, FIFOs, devices, huge files, odd names): what cannot
    be copied safely is skipped, and a student id the gradebook cannot hold is refused, each with a problem.
    """
    problems = []
    for student in sorted(path for path in submissions.iterdir() if path.is_dir() and not path.is_symlink()):
        refusal = student_id_problem(student.name)
        if refusal:
            problems.append(Problem(_printable(student.name), "-", f"not graded: {refusal}"))
            continue
        for notebook in notebooks:
            source = student / notebook
            if source.is_dir() and not source.is_symlink():
                target = course.submitted(Task(notebook, student.name))
                shutil.rmtree(target, ignore_errors=True)
                skipped = copy_untrusted_tree(
                    source, target, leave_out=answer_file_names(notebook).__contains__
                )
                problems += [Problem(student.name, notebook, f"skipped {line}") for line in skipped]
    return problems


def student_id_problem(student_id: str) -> str:
    """Why a folder name cannot be a student id in the gradebook and the CSV ('' when it can)."""
    try:
        student_id.encode("utf-8")
    except UnicodeEncodeError:
        return "the folder name is not valid UTF-8: rename it to the student's id"
    if any(not character.isprintable() for character in student_id):
        return "the folder name holds control characters (a newline?): rename it to the student's id"
    if student_id.startswith("."):
        return "the folder name starts with '.': rename it to the student's id"
    if len(student_id) > MAX_STUDENT_ID_CHARS:
        return f"the folder name is longer than {MAX_STUDENT_ID_CHARS} characters (nbgrader's limit)"
    return ""


def _printable(name: str) -> str:
    return repr(name)[1:-1]


def collect_zips(zips: list[Path], course: Course, notebooks: list[str], pattern: str) -> list[Problem]:
    """nbgrader zip_collect, once per notebook, with a file-name pattern that picks that notebook's files.

    A file of the notebook whose name does not fit the pattern would be lost: each one is a problem.
    """
    problems = []
    for notebook in notebooks:
        archive = course.root / "downloaded" / notebook / "archive"
        shutil.rmtree(archive, ignore_errors=True)
        archive.mkdir(parents=True)
        for path in zips:
            shutil.copyfile(path, archive / path.name)
        regexp = pattern.format(notebook=notebook)
        log = course.log(f"zip_collect-{notebook}.log")
        run_nbgrader(
            ["zip_collect", notebook, "--force", f"--FileNameCollectorPlugin.named_regexp={regexp}"],
            course.root,
            log,
        )
        skipped = re.findall(r"Skipped submission with no match information provided: (.+)", log.read_text())
        problems += [
            Problem(
                "(zip)", notebook, f"{Path(name).name} was not collected: its name does not match {regexp}"
            )
            for name in skipped
            if name.endswith(f"{notebook}.ipynb")
        ]
    return problems


def class_list(course: Course, roster: dict[str, Student]) -> list[Student]:
    """Everyone on the roster and everyone who submitted, sorted by id."""
    submitted = course.root / "submitted"
    found = {path.name for path in submitted.iterdir() if path.is_dir()} if submitted.is_dir() else set()
    return [roster.get(student_id, Student(student_id)) for student_id in sorted(found | set(roster))]


def autograde_all(course: Course, pending: list[Outcome], jobs: int, limits: Limits) -> Iterable[Outcome]:
    """Autograde submissions `jobs` at a time; record each in the gradebook as it finishes."""
    if not pending:
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(autograde, course, outcome, limits) for outcome in pending]
        try:
            for future in tqdm(as_completed(futures), total=len(futures), desc="autograde", unit="notebook"):
                yield record(course, future.result())
        except BaseException:
            # An interrupted run leaves unfinished submissions unrecorded: the next run grades them.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def autograde(course: Course, outcome: Outcome, limits: Limits) -> Outcome:
    """Run `nbgrader autograde` on one submission in its own scratch course; a bad notebook never raises."""
    task = outcome.task
    scratch = course.scratch(task)
    try:
        lay_out_scratch(course, task, scratch)
    except OSError as error:
        return Outcome(task, outcome.digest, f"its files could not be copied for grading: {error}")
    arguments = [
        "autograde",
        task.notebook,
        f"--student={SCRATCH_STUDENT}",
        "--force",
        f"--Execute.kernel_name={KERNEL_NAME}",
        f"--Execute.timeout={limits.cell_seconds(task.notebook)}",
        f"--CourseDirectory.db_url={sqlite_url(scratch / 'gradebook.db')}",
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
        run_nbgrader(arguments, scratch, log, seconds, course.jupyter)
    except subprocess.TimeoutExpired:
        return Outcome(task, outcome.digest, f"stopped after {seconds} s: nbgrader did not finish in time")
    except NbgraderError:
        return Outcome(
            task, outcome.digest, failure_reason(log.read_text(encoding="utf-8", errors="replace"))
        )
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return outcome


def lay_out_scratch(course: Course, task: Task, scratch: Path) -> None:
    """A course of one assignment and one submission, with its own copy of the empty gradebook."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(course.template / "source" / task.notebook, scratch / "source" / task.notebook)
    shutil.copyfile(course.template / "gradebook.db", scratch / "gradebook.db")
    shutil.copyfile(course.root / "nbgrader_config.py", scratch / "nbgrader_config.py")
    skipped = copy_untrusted_tree(
        course.submitted(task), scratch / "submitted" / SCRATCH_STUDENT / task.notebook
    )
    if skipped:  # collect copied regular files only, so this is a change behind our back
        raise OSError(f"the submission changed while being graded: {'; '.join(skipped)}")


def failure_reason(log: str) -> str:
    """Why nbgrader could not grade a notebook, from its log."""
    if "CellTimeoutError" in log:
        return "a cell ran past the time limit and did not stop when interrupted"
    if "DeadKernelError" in log:
        return "the kernel died while running the notebook (os._exit, a crash or a fatal signal)"
    if "NotJSONError" in log or "does not appear to be JSON" in log:
        return "the notebook is not valid JSON"
    if "ValidationError" in log:
        return "the notebook does not follow the .ipynb format"
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line]
    return "nbgrader could not grade it: " + (errors[0] if errors else "see its log")


def record(course: Course, outcome: Outcome) -> Outcome:
    """Move a finished submission into the course and the class gradebook, then mark it done.

    The graded folder is what the kernel left: only its regular files are copied, the rest is named.
    """
    task = outcome.task
    scratch = course.scratch(task)
    target = course.autograded(task)
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(course.feedback(task), ignore_errors=True)
    failure_log = course.log(f"autograde/{task.notebook}/{task.student}.log")
    failure_log.unlink(missing_ok=True)
    if outcome.problem:
        if (scratch / "autograde.log").is_file():
            failure_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(scratch / "autograde.log", failure_log)
        record_ungradable(course.db_url, task.notebook, task.student, _timestamp(course.submitted(task)))
    else:
        skipped = copy_untrusted_tree(scratch / "autograded" / SCRATCH_STUDENT / task.notebook, target)
        outcome = dataclasses.replace(outcome, skipped=tuple(f"the kernel left {line}" for line in skipped))
        notebook = target / f"{task.notebook}.ipynb"
        record_autograded(
            course.db_url, notebook, task.notebook, task.student, _timestamp(course.submitted(task))
        )
    done = course.done(task)
    done.parent.mkdir(parents=True, exist_ok=True)
    fields = {"digest": outcome.digest, "problem": outcome.problem, "skipped": list(outcome.skipped)}
    done.write_text(json.dumps(fields), encoding="utf-8")
    shutil.rmtree(scratch, ignore_errors=True)
    return outcome


def _timestamp(submitted: Path) -> datetime.datetime | None:
    """The submission time nbgrader would record (zip_collect and nbgrader collect write timestamp.txt)."""
    stamp = submitted / "timestamp.txt"
    try:
        return parse_utc(stamp.read_text(encoding="utf-8").strip()) if stamp.is_file() else None
    except ValueError:  # nbgrader itself refuses such a submission, and says so in its log
        return None


def _finished(course: Course, task: Task, digest: str) -> Outcome | None:
    """The recorded outcome of an earlier run, if it graded exactly this submission under these limits."""
    try:
        done = json.loads(course.done(task).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    graded_notebook_lost = not done.get("problem") and not course.autograded(task).is_dir()
    if done.get("digest") != digest or graded_notebook_lost:
        return None
    return Outcome(task, digest, str(done.get("problem", "")), tuple(map(str, done.get("skipped", []))))


def _digest(course: Course, task: Task, limits: Limits) -> str:
    """Fingerprint of all a grade depends on: the submitted files, solution, reference answers and limits."""
    digest = hashlib.sha256()
    folder = course.submitted(task)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    for path in (SOLUTIONS_DIR / f"{task.notebook}.ipynb", answers_dir() / f"{task.notebook}.json"):
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(f"{limits.cell_seconds(task.notebook)} {limits.memory_limit} {limits.sandboxed}".encode())
    return digest.hexdigest()


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
