"""The course directory a class is graded in: its layout from solutions/, and where each file lives."""

import functools
import glob
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from graders.classroom.gradebook import run_nbgrader, sqlite_url
from graders.classroom.sandbox import Limits, install_kernel_spec
from graders.core.paths import REPO_ROOT, SOLUTIONS_DIR
from graders.core.specs import notebooks as notebooks_with_specs

NBGRADER_CONFIG = REPO_ROOT / "nbgrader_config.py"


class SubmissionsError(ValueError):
    """The submissions cannot be graded as given; the message says why."""


def solution_notebooks() -> list[Path]:
    """The course's source notebooks, in order."""
    return sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def make_course_dir(root: Path, notebooks: list[Path] | None = None) -> Path:
    """Create `root` with nbgrader_config.py and source/<NN_topic>/<NN_topic>.ipynb for each notebook."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NBGRADER_CONFIG, root / "nbgrader_config.py")
    for notebook in notebooks or solution_notebooks():
        assignment = root / "source" / notebook.stem
        assignment.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, assignment / notebook.name)
    return root


# Our own records inside the course directory; its presence marks a course this module laid out.
GRADING = "grading"


# A scratch course holds one submission under this id, so an odd real id never meets nbgrader's globs;
# the class gradebook gets the real id (graders.classroom.gradebook.record_autograded).
SCRATCH_STUDENT = "student"


@dataclass(frozen=True)
class Task:
    """One student's notebook to grade."""

    notebook: str
    student: str


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

    @functools.cached_property
    def directory(self) -> CourseDirectory:
        """nbgrader's own view of the layout, as the course's nbgrader_config.py sets it."""
        config = self.root / "nbgrader_config.py"
        loaded = PyFileConfigLoader(config.name, str(self.root)).load_config() if config.is_file() else None
        return CourseDirectory(root=str(self.root), config=loaded)

    def _step(self, step: str, student: str, notebook: str) -> Path:
        return Path(self.directory.format_path(step, student, notebook))

    def students_at(self, step: str, notebook: str | None = None) -> set[str]:
        """Ids with a folder at an nbgrader step (for one notebook, or any), found as nbgrader finds them."""
        assignment = re.escape(notebook) if notebook else "[^/]+"
        layout = self.directory.format_path(step, "(?P<student_id>[^/]+)", assignment, escape=True)
        folders = glob.glob(self.directory.format_path(step, "*", glob.escape(notebook) if notebook else "*"))
        found = (re.fullmatch(layout, folder) for folder in folders if Path(folder).is_dir())
        return {match["student_id"] for match in found if match}

    def submitted(self, task: Task) -> Path:
        return self._step(self.directory.submitted_directory, task.student, task.notebook)

    def autograded(self, task: Task) -> Path:
        return self._step(self.directory.autograded_directory, task.student, task.notebook)

    def feedback(self, task: Task) -> Path:
        return self._step(self.directory.feedback_directory, task.student, task.notebook)

    def source(self, notebook: str) -> Path:
        return self._step(self.directory.source_directory, ".", notebook)

    def release(self, notebook: str) -> Path:
        return self._step(self.directory.release_directory, ".", notebook) / f"{notebook}.ipynb"

    def scratch(self, task: Task) -> Path:
        """The folder of the task's scratch courses, one per attempt
        (graders.classroom.autograde.new_scratch)."""
        # nbgrader globs the paths it is given: a student id with * or [ ] must not be part of them.
        return (
            self.grading / "scratch" / task.notebook / hashlib.sha256(task.student.encode()).hexdigest()[:16]
        )

    def done(self, task: Task) -> Path:
        return self.done_folder(task.notebook) / f"{task.student}.json"

    def done_folder(self, notebook: str) -> Path:
        """One record per finished submission of the notebook (graders.classroom.autograde.record)."""
        return self.grading / "done" / notebook

    def log(self, name: str) -> Path:
        return self.grading / "logs" / name


def scratch_course(root: Path) -> Course:
    """A course of one submission, with its own sqlite gradebook (graders.classroom.autograde lays it out)."""
    return Course(root, sqlite_url(root / "gradebook.db"))


def scratch_task(task: Task) -> Task:
    """The task as its scratch course knows it: the same notebook, under the neutral student id."""
    return Task(task.notebook, SCRATCH_STUDENT)


def course_notebooks() -> list[str]:
    """Notebooks that have both a solution and grading specs."""
    return [name for name in notebooks_with_specs() if (SOLUTIONS_DIR / f"{name}.ipynb").is_file()]


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
