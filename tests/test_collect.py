"""Collecting submissions: odd names shown escaped, and a student id from a zip's file name refused as an
odd folder name is. collect() runs nbgrader's zip_collect with graders.classroom.plugins.RecordingCollector;
nothing
is autograded.
"""

import os
import zipfile
from pathlib import Path

import pytest

from graders.classroom.collect import ZIP_FILE_PATTERN, class_list, collect
from graders.classroom.course import Course, make_course_dir, solution_notebooks
from graders.classroom.gradebook import sqlite_url

# Every test here runs nbgrader's zip_collect.
pytestmark = pytest.mark.slow

NOTEBOOK = solution_notebooks()[0].stem
# The default pattern's student id holds no '/': this one's may (and a newline), as an instructor's could.
PATTERN = r"(?s).*/submissions/(?P<student_id>.+)_(?P<file_id>{notebook})\.ipynb$"
# Each odd id in a file name, and what its refusal says.
REFUSED = {
    ".hidden": "starts with '.'",
    "line\nbreak": "holds control characters",
    "a/b": "holds a '/'",
    "x" * 200: "is longer than 128 characters",
    "=1+2": "holds '=', '+': an id is letters, digits and ._@- only",
    "<b>ada": "holds '<', '>': an id is letters, digits and ._@- only",
    "-ada": "starts with '-'",
}


def test_odd_ids_in_zip_file_names_are_refused_and_the_rest_collected(tmp_path: Path) -> None:
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as archive:
        for student in ["ada", *REFUSED]:
            archive.writestr(f"submissions/{student}_{NOTEBOOK}.ipynb", "{}")
    course = Course(tmp_path / "course", sqlite_url(tmp_path / "course" / "gradebook.db"))
    make_course_dir(course.root, solution_notebooks()[:1])
    problems = collect(download, course, [NOTEBOOK], PATTERN)
    for student, reason in REFUSED.items():
        refusals = [p for p in problems if p.student == repr(student)[1:-1] and p.notebook == NOTEBOOK]
        assert len(refusals) == 1, (student, problems)
        assert refusals[0].text.startswith("not graded: the student id in ") and reason in refusals[0].text
    assert len(problems) == len(REFUSED)
    assert [path.name for path in (course.root / "submitted").iterdir()] == ["ada"]
    assert [student.id for student in class_list(course, {})] == ["ada"]


def test_odd_names_in_folders_are_shown_escaped_on_one_line(tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    (submissions / "line\nbreak" / NOTEBOOK).mkdir(parents=True)
    (submissions / "ada" / NOTEBOOK).mkdir(parents=True)
    os.mkfifo(submissions / "ada" / NOTEBOOK / "pipe\n\udce9")  # a newline, and a byte that is not UTF-8
    course = Course(tmp_path / "course", sqlite_url(tmp_path / "course" / "gradebook.db"))
    problems = collect(submissions, course, [NOTEBOOK], ZIP_FILE_PATTERN)
    assert [str(problem) for problem in problems] == [
        f"ada / {NOTEBOOK}: skipped pipe\\n\\udce9: a named pipe, not copied",
        "line\\nbreak / -: not graded: the folder name holds control characters (a newline?): "
        "rename it to the student's id",
    ]
