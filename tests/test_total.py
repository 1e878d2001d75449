"""Every step is total: a hostile submission costs its own row, not the batch; a killed grader loses nothing.

A small hostile class is graded by `python -m graders class` in a subprocess, in the sandbox: a kernel
that displays 60 MB of HTML, a notebook nested 100,000 levels deep, a submission folder 1,100 levels deep,
a kernel that leaves 5,000 files and such a folder. The grader is killed with SIGKILL during autograde,
during recording and during feedback; each time the same command run again gives every student exactly
once, with the right score and feedback, and its report names the steps it redid.
"""

import csv
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, Pupil, solution_sources, write_submissions
from test_sandbox import sandbox_or_skip

from graders.classroom.files import remove_tree
from graders.classroom.preprocessors import LimitOutputSize
from graders.classroom.submission_limits import FOLDER_MAX_DEPTH, FOLDER_MAX_FILES, NOTEBOOK_MAX_DEPTH
from graders.core.paths import REPO_ROOT

# Every test here grades through nbgrader in the sandbox.
pytestmark = pytest.mark.slow

SOLVED = solution_sources()
DEEP = 1_100
# Making a 1,100-level folder with paths would pass PATH_MAX: each level is made inside the last.
MAKE_DEEP = (
    "import os\n"
    "def make_deep(top, levels):\n"
    "    os.makedirs(top, exist_ok=True)\n"
    "    folder = os.open(top, os.O_RDONLY)\n"
    "    for _ in range(levels):\n"
    "        os.mkdir('d', dir_fd=folder)\n"
    "        inner = os.open('d', os.O_RDONLY, dir_fd=folder)\n"
    "        os.close(folder)\n"
    "        folder = inner\n"
    "    os.close(folder)\n"
)
FLOOD = "from IPython.display import HTML, display\ndisplay(HTML('<p>' + 'x' * 60_000_000 + '</p>'))\n"
LITTER = MAKE_DEEP + (
    "os.makedirs('many', exist_ok=True)\n"
    "for number in range(5_000):\n"
    "    open(f'many/{number:05}', 'w').write('x')\n"
    f"make_deep('deep', {DEEP})\n"
)
# Starting Python, nbgrader and a kernel takes seconds; on a busy machine, minutes.
STEP_SECONDS = 300
# A grading run of a few students in the sandbox, on a busy machine.
RUN_SECONDS = 900


def hostile_class() -> list[Pupil]:
    """Honest, and one attack per student: each keeps the honest solution after its attack."""
    deep_json = b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    return [
        Pupil("ada", 7),
        Pupil("deep_folder", 7),
        Pupil("deep_json", 0, raw=deep_json),
        Pupil("html_flood", 7, cells={"sum-grads": FLOOD + SOLVED["sum-grads"]}),
        Pupil("litters", 7, cells={"sum-grads": LITTER + SOLVED["sum-grads"]}),
    ]


def make_deep(top: Path, levels: int) -> None:
    namespace: dict[str, Callable[[str, int], None]] = {}
    exec(MAKE_DEEP, namespace)
    namespace["make_deep"](str(top), levels)


def grader(submissions: Path, course: Path, prelude: str = "") -> list[str]:
    """The command line of `python -m graders class`, after `prelude` (code the test runs in the grader)."""
    arguments = [
        "class",
        str(submissions),
        f"--course={course}",
        "--jobs=2",
        f"--cell-timeout={CELL_TIMEOUT}",
        "--instances=0",
    ]
    script = f"{prelude}\nimport sys\nfrom graders.__main__ import main\nsys.exit(main(sys.argv[1:]))\n"
    return [sys.executable, "-c", script, *arguments]


def run_to_the_end(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_SECONDS)


def killed_when(command: list[str], ready: Callable[[], bool]) -> None:
    """Start the grader and SIGKILL it as soon as `ready()` holds (or let the command kill itself)."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + STEP_SECONDS
    try:
        while process.poll() is None and not ready():
            assert time.monotonic() < deadline, "the grader never reached the point to kill it"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL, f"the grader ended by itself ({process.returncode})"


def rows(course: Path) -> list[dict[str, str]]:
    with (course / "grades.csv").open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def assert_everyone_once(
    course: Path, scores: dict[str, float], without_feedback: frozenset = frozenset()
) -> None:
    """Each student exactly once, with the score, and nbgrader's feedback page for each graded one."""
    found = rows(course)
    assert sorted(row["student_id"] for row in found) == sorted(scores)
    assert {row["student_id"]: float(row["score"]) for row in found} == scores
    for student in scores:
        page = course / "feedback" / student / NOTEBOOK / f"{NOTEBOOK}.html"
        assert page.is_file() != (student in without_feedback), student
        if page.is_file():
            assert page.read_text(encoding="utf-8").rstrip().endswith("</html>"), student


def redone(course: Path) -> list[str]:
    report = (course / "report.txt").read_text(encoding="utf-8")
    return [
        line.removeprefix("redone:").strip() for line in report.splitlines() if line.startswith("redone:")
    ]


def attempts(course: Path) -> list[Path]:
    return list((course / "grading" / "scratch" / NOTEBOOK).glob("*/attempt-*"))


@dataclass(frozen=True)
class Graded:
    course: Path
    result: subprocess.CompletedProcess[str]

    @property
    def report(self) -> str:
        return (self.course / "report.txt").read_text(encoding="utf-8")

    def audit(self, student: str) -> str:
        return next(row["audit"] for row in rows(self.course) if row["student_id"] == student)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Graded]:
    """The hostile class, its grader killed while autograding, then graded again to the end."""
    sandbox_or_skip()
    root = tmp_path_factory.mktemp("total")
    submissions = write_submissions(root / "submissions", hostile_class())
    make_deep(submissions / "deep_folder" / NOTEBOOK / "nested", DEEP)
    course = root / "course"
    try:
        killed_when(grader(submissions, course), lambda: bool(attempts(course)))
        yield Graded(course, run_to_the_end(grader(submissions, course)))
    finally:
        remove_tree(root)


def test_the_hostile_batch_completes_with_every_honest_score(hostile: Graded) -> None:
    assert hostile.result.returncode == 1, hostile.result.stderr  # 1: rows need attention, 2: it failed
    scores = {pupil.id: pupil.score for pupil in hostile_class()}
    assert_everyone_once(hostile.course, scores, without_feedback=frozenset({"deep_json"}))
    assert not attempts(hostile.course), "a scratch course outlived its recording"


def test_a_rerun_after_a_kill_during_autograde_names_what_it_redid(hostile: Graded) -> None:
    lines = redone(hostile.course)
    assert any(line.startswith("autograde of ") and "stopped while autograding" in line for line in lines)


def test_a_60_mb_display_is_cut_as_it_arrives(hostile: Graded) -> None:
    graded = hostile.course / "autograded" / "html_flood" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert graded.stat().st_size < 1_000_000
    assert "output truncated (60,000," in graded.read_text(encoding="utf-8")


def test_a_deeply_nested_notebook_is_refused_unread(hostile: Graded) -> None:
    assert (
        f"not graded: the notebook's JSON is nested more than {NOTEBOOK_MAX_DEPTH} levels"
        in hostile.audit("deep_json")
    )


def test_a_deep_submission_folder_is_cut_at_the_depth_cap(hostile: Graded) -> None:
    cut = "/".join(["nested", *["d"] * (FOLDER_MAX_DEPTH - 1)])
    line = f"deep_folder / {NOTEBOOK}: skipped {cut}/: nested deeper than {FOLDER_MAX_DEPTH} folders"
    assert line in hostile.report


def test_the_files_a_kernel_leaves_are_capped_and_flagged(hostile: Graded) -> None:
    audit = hostile.audit("litters")
    assert f"more than {FOLDER_MAX_FILES:,} files, not copied" in audit
    assert f"nested deeper than {FOLDER_MAX_DEPTH} folders, removed" in audit
    kept = [path for path in (hostile.course / "autograded" / "litters").rglob("*") if path.is_file()]
    assert len(kept) <= FOLDER_MAX_FILES


# Kills the grader from inside, at a point no file marks: as it enters the class gradebook's write for the
# first submission it records, after the graded folder was copied into the course.
KILL_WHILE_RECORDING = (
    "import os, signal\n"
    "import graders.classroom.autograde\n"
    "graders.classroom.autograde.record_autograded = lambda *args: os.kill(os.getpid(), signal.SIGKILL)\n"
)


# Kills the grader from inside as it keeps the first feedback its worker made: the page is copied into the
# course, its completion not yet marked.
KILL_WHILE_KEEPING_FEEDBACK = (
    "import os, signal\n"
    "import graders.classroom.class_report as report\n"
    "copy = report.copy_untrusted_tree\n"
    "def copy_then_die(*args, **kwargs):\n"
    "    copy(*args, **kwargs)\n"
    "    os.kill(os.getpid(), signal.SIGKILL)\n"
    "report.copy_untrusted_tree = copy_then_die\n"
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two honest students, submissions and course; the grader is killed while recording the first."""
    sandbox_or_skip()
    root = tmp_path_factory.mktemp("kills")
    submissions = write_submissions(root / "submissions", [Pupil("ada", 7), Pupil("bob", 7)])
    course = root / "course"
    killed_when(grader(submissions, course, KILL_WHILE_RECORDING), lambda: False)
    return submissions, course


def test_a_kill_while_recording_is_recorded_by_the_next_run(pair: tuple[Path, Path]) -> None:
    submissions, course = pair
    assert not list((course / "grading" / "done").rglob("*.json")), "a submission was recorded as done"
    result = run_to_the_end(grader(submissions, course))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_everyone_once(course, {"ada": 7, "bob": 7})
    assert any(line.startswith("recording of ") for line in redone(course)), redone(course)


def test_a_kill_during_feedback_gives_the_feedback_on_the_next_run(pair: tuple[Path, Path]) -> None:
    submissions, course = pair
    if not (course / "grades.csv").is_file():
        run_to_the_end(grader(submissions, course))
    # bob hands in again: the next run grades bob alone, and is killed while making bob's feedback.
    notebook = submissions / "bob" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    notebook.write_text(notebook.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    remove_tree(course / "report.txt")
    killed_when(grader(submissions, course, KILL_WHILE_KEEPING_FEEDBACK), lambda: False)
    assert not (course / "report.txt").exists()
    result = run_to_the_end(grader(submissions, course))
    assert result.returncode == 0, result.stdout + result.stderr
    assert_everyone_once(course, {"ada": 7, "bob": 7})
    assert f"feedback of bob / {NOTEBOOK} (an earlier run was stopped before it was complete)" in redone(
        course
    )
    assert not any(line.startswith(("autograde of ", "recording of ")) for line in redone(course))


def test_every_output_type_counts_toward_the_output_budget() -> None:
    cell = nbformat.v4.new_code_cell("display(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<p>" + "x" * 5000, "text/plain": "html"}),
        nbformat.v4.new_output("stream", name="stdout", text="later"),
        nbformat.v4.new_output("error", ename="MemoryError", evalue="no memory", traceback=["y" * 5000]),
    ]
    LimitOutputSize(max_chars=100).preprocess_cell(cell, {}, 0)
    display, error = cell.outputs
    assert display.data == {"text/plain": "... output truncated (5,009 characters) ..."}
    assert (error.ename, error.evalue, error.traceback) == (
        "MemoryError",
        "no memory",
        ["... output truncated (5,020 characters) ..."],
    )
