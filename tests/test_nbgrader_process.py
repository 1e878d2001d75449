"""The nbgrader a grader starts dies with it, and each attempt at a submission has its own scratch course.

The process tests run graders.classroom.gradebook.run_nbgrader itself on a stand-in nbgrader: `python -m
nbgrader`
finds the package in its working directory (the course) first, and the stand-in only sleeps.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from nbgrader.api import Gradebook

import graders.classroom.autograde
import graders.classroom.tether
from graders.classroom.autograde import Outcome, autograde, record
from graders.classroom.course import Course, Task
from graders.classroom.gradebook import nbgrader_env, run_nbgrader, sqlite_url
from graders.classroom.grading_worker import Graded, Job
from graders.classroom.sandbox import Limits
from graders.core.paths import REPO_ROOT

# Every test here runs nbgrader.
pytestmark = pytest.mark.slow

STAND_IN = """\
import os, time
from pathlib import Path
Path("started.tmp").write_text(str(os.getpid()))
Path("started.tmp").rename("started")
time.sleep(600)
"""

# A grader's process: run_nbgrader from a pool thread, as the class grader calls it.
GRADER = """\
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from graders.classroom.gradebook import run_nbgrader
course = Path(sys.argv[1])
with ThreadPoolExecutor(max_workers=1) as pool:
    pool.submit(run_nbgrader, ["autograde"], course, course / "nbgrader.log").result()
"""

# Starting Python and importing nbgrader's API takes seconds on a busy machine.
START_SECONDS = 120
# After its parent's death the kernel sends SIGKILL at once: this only allows for a busy machine.
DEATH_SECONDS = 10


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A folder holding a stand-in nbgrader package that records its pid and sleeps."""
    package = tmp_path / "course" / "nbgrader"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "__main__.py").write_text(STAND_IN, encoding="utf-8")
    return package.parent


def running_in(folder: Path) -> list[psutil.Process]:
    """Live processes whose working directory is `folder` (a zombie has none)."""
    return [
        process
        for process in psutil.process_iter(["cwd", "status"])
        if process.info["cwd"] == str(folder.resolve()) and process.info["status"] != psutil.STATUS_ZOMBIE
    ]


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether `condition()` became true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_nbgrader_dies_with_the_grader_that_started_it(course: Path) -> None:
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(course)], cwd=REPO_ROOT)
    try:
        assert wait_until((course / "started").is_file, START_SECONDS), "the stand-in nbgrader never started"
        assert running_in(course), "the stand-in nbgrader is not running"
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        assert wait_until(lambda: not running_in(course), DEATH_SECONDS), "nbgrader outlived its grader"
    finally:
        grader.kill()
        for orphan in running_in(course):
            orphan.kill()


def test_nbgrader_past_its_timeout_is_killed(course: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_nbgrader(["autograde"], course, course / "nbgrader.log", timeout=3)
    # The tether execs nbgrader, so the process the timeout kills is nbgrader itself.
    assert not running_in(course)


def test_the_tether_runs_nothing_for_a_parent_already_gone(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # Pid 1 is not the test's process, as a parent that died before the tether began is not its new parent.
    command = [
        sys.executable,
        "-I",
        graders.classroom.tether.__file__,
        "1",
        sys.executable,
        "-c",
        f"open({str(marker)!r}, 'w')",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode != 0 and "is gone" in result.stderr
    assert not marker.exists()


def test_each_attempt_at_a_task_gets_a_fresh_scratch_course(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader's Gradebook runs `alembic` by name
    course, task = small_course(tmp_path)
    seen: list[tuple[Path, set[str]]] = []

    def killed_midway(job: Job) -> Graded:
        """A worker whose nbgrader failed, as one killed mid-run would; it sees only its job."""
        earlier = [folder for folder, _ in seen]
        attempt = next(folder for folder in course.scratch(task).glob("attempt-*") if folder not in earlier)
        seen.append((attempt, {path.name for path in attempt.iterdir()}))
        (attempt / "half-written").write_text("", encoding="utf-8")
        return Graded("killed", log=f"attempt {len(seen)}")

    monkeypatch.setattr(graders.classroom.autograde, "grade", killed_midway)
    first = autograde(course, Outcome(task, "digest"), Limits(sandboxed=False))
    second = autograde(course, Outcome(task, "digest"), Limits(sandboxed=False))
    assert [folder for folder, _ in seen] == [first.scratch, second.scratch]
    assert first.scratch != second.scratch
    assert all(folder.parent == course.scratch(task) for folder, _ in seen)
    assert all(names == set() for _, names in seen), "an attempt met what another left"
    record(course, second)
    assert course.log(f"autograde/{task.notebook}/{task.student}.log").read_text() == "attempt 2"
    assert not course.scratch(task).exists(), "an attempt's scratch course was left behind"


def small_course(root: Path) -> tuple[Course, Task]:
    """The least autograde() and record() read: a template, a submission, a gradebook with its assignment."""
    course = Course(root / "course", sqlite_url(root / "course" / "gradebook.db"))
    task = Task("00_autograd", "ada")
    source = course.template / "source" / task.notebook
    source.mkdir(parents=True)
    (source / f"{task.notebook}.ipynb").write_text("{}", encoding="utf-8")
    (course.template / "gradebook.db").write_bytes(b"")
    (course.root / "nbgrader_config.py").write_text("", encoding="utf-8")
    course.submitted(task).mkdir(parents=True)
    (course.submitted(task) / f"{task.notebook}.ipynb").write_text("{}", encoding="utf-8")
    with Gradebook(course.db_url) as gradebook:
        gradebook.add_assignment(task.notebook)
    return course, task
