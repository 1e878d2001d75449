"""Bring a class's submissions into the course: folders or LMS zips, regular files only, odd ids refused."""

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

from graders.classroom.course import Course, SubmissionsError, Task, course_notebooks
from graders.classroom.files import copy_untrusted_tree, printable, remove_tree
from graders.classroom.gradebook import (
    NbgraderError,
    run_nbgrader,
)
from graders.classroom.report_rows import Problem
from graders.classroom.roster import Student, student_id_problem
from graders.core.answer_files import answer_file_names

# LMS downloads name each file after its student; `{notebook}` stands for the notebook's name.
ZIP_FILE_PATTERN = r".*/(?P<student_id>[^/]+)_(?P<file_id>{notebook})\.ipynb$"
# nbgrader zip_collect unpacks a whole class's downloads: minutes at most, even for thousands of files.
ZIP_COLLECT_SECONDS = 1800


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
        refusal = folder_refusal(student.name)
        if refusal:
            problems.append(refusal)
            continue
        for notebook in notebooks:
            source = student / notebook
            if source.is_dir() and not source.is_symlink():
                problems += _collect_folder(source, course.submitted(Task(notebook, student.name)))
    return problems


def folder_refusal(name: str) -> Problem | None:
    """The problem of a student folder whose name is no student id (graders.classroom.roster's rule), else
    None."""
    refusal = student_id_problem(name)
    if not refusal:
        return None
    reason = f"not graded: the folder name {refusal}: rename it to the student's id"
    return Problem(printable(name), "-", reason)


def _collect_folder(source: Path, target: Path) -> list[Problem]:
    """One student's notebook folder, copied up to graders.classroom.submission_limits' caps; any failure is
    that student's."""
    student, notebook = source.parent.name, source.name
    try:
        remove_tree(target)
        skipped = copy_untrusted_tree(
            source,
            target,
            leave_out=answer_file_names(notebook).__contains__,
            first={f"{notebook}.ipynb"},
        )
    except Exception as error:  # one submission's failure is its own, never the batch's
        remove_tree(target)
        reason = f"not graded: its folder could not be collected: {type(error).__name__}: {error}"
        return [Problem(student, notebook, reason)]
    return [Problem(student, notebook, f"skipped {line}") for line in skipped]


def collect_zips(zips: list[Path], course: Course, notebooks: list[str], pattern: str) -> list[Problem]:
    """nbgrader zip_collect, once per notebook, with a file-name pattern that picks that notebook's files.

    A file of the notebook whose name does not fit the pattern would be lost, and one whose student id the
    gradebook cannot hold is refused as an odd folder name is: each one is a problem.
    """
    problems = []
    for notebook in notebooks:
        archive = course.root / "downloaded" / notebook / "archive"
        shutil.rmtree(archive, ignore_errors=True)
        archive.mkdir(parents=True)
        for path in zips:
            shutil.copyfile(path, archive / path.name)
        regexp = pattern.format(notebook=notebook)
        skipped_file = course.log(f"zip_collect-{notebook}.skipped")
        skipped_file.unlink(missing_ok=True)
        arguments = [
            "zip_collect",
            notebook,
            "--force",
            "--ZipCollectApp.collector_plugin=graders.classroom.plugins.RecordingCollector",
            f"--RecordingCollector.named_regexp={regexp}",
            f"--RecordingCollector.skipped_file={skipped_file}",
        ]
        log = course.log(f"zip_collect-{notebook}.log")
        try:
            run_nbgrader(arguments, course.root, log, ZIP_COLLECT_SECONDS)
        except (NbgraderError, subprocess.TimeoutExpired):
            problems.append(Problem("(zip)", notebook, f"nbgrader zip_collect failed or stopped: see {log}"))
        problems += _zip_problems(skipped_file, notebook, regexp)
    return problems


def _zip_problems(skipped_file: Path, notebook: str, regexp: str) -> list[Problem]:
    """A problem for each file of the notebook the collector left out: an odd student id, or no match."""
    lines = skipped_file.read_text(encoding="utf-8").splitlines() if skipped_file.is_file() else []
    problems = []
    for skipped in map(json.loads, lines):
        name = printable(Path(skipped["file"]).name)
        if "refused" in skipped:
            refusal = skipped["refused"]
            reason = f"not graded: the student id in {name} {refusal}: rename the file after the student"
            problems.append(Problem(printable(skipped["student_id"]), notebook, reason))
        elif skipped["file"].endswith(f"{notebook}.ipynb"):
            reason = f"{name} was not collected: its name does not match {regexp}"
            problems.append(Problem("(zip)", notebook, reason))
    return problems


def class_list(course: Course, roster: dict[str, Student]) -> list[Student]:
    """Everyone on the roster and everyone who submitted, sorted by id."""
    found = course.students_at(course.directory.submitted_directory)
    return [roster.get(student_id, Student(student_id)) for student_id in sorted(found | set(roster))]
