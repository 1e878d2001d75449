"""The grading process records a worker's marks exactly as nbgrader's SaveAutoGrades and AssignLatePenalties
would store the graded notebook they were read from: scores, partial credit, errors, untouched solutions,
a grader's manual score kept for review, and a late penalty of the plugin the course's configuration
chooses."""

import datetime
import shutil
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from traitlets.config import Config

from graders.classroom.course import Course, prepare_course
from graders.classroom.gradebook import close_recording, marks_of, record_autograded, sqlite_url
from graders.classroom.sandbox import Limits

# It runs nbgrader generate_assignment.
pytestmark = pytest.mark.slow

NOTEBOOK = "00_autograd"
STUDENT = "ada"
DUE = datetime.datetime(2026, 1, 1, 12, 0)
# A course whose late work scores nothing (nbgrader's default plugin charges no penalty).
CONFIG = Config({"LateSubmissionPlugin": {"penalty_method": "zero"}})


def graded_like_autograde(release: NotebookNode) -> NotebookNode:
    """The released notebook as autograde could leave it: each test cell gives one kind of result, the
    first solution answered, the others untouched."""
    node = nbformat.from_dict(release)
    tests = [cell for cell in node.cells if utils.is_grade(cell) and not utils.is_solution(cell)]
    results = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1),
        nbformat.v4.new_output("error", ename="AssertionError", evalue="no", traceback=[]),
        nbformat.v4.new_output("stream", name="stderr", text="a warning"),
        nbformat.v4.new_output("stream", name="stdout", text="all fine"),
    ]
    for cell, output in zip(tests, results, strict=False):
        cell.outputs = [output]
    solution = next(cell for cell in node.cells if utils.is_solution(cell))
    solution.source += "\nanswered = True"
    return node


def rows(db_url: str) -> tuple:
    with Gradebook(db_url) as gradebook:
        graded = gradebook.find_submission_notebook(NOTEBOOK, NOTEBOOK, STUDENT)
        grades = sorted((grade.name, grade.auto_score, grade.needs_manual_grade) for grade in graded.grades)
        comments = sorted((comment.name, comment.auto_comment) for comment in graded.comments)
        return grades, comments, graded.late_submission_penalty, graded.score


def test_recorded_marks_are_what_nbgraders_preprocessors_store(tmp_path: Path) -> None:
    course = Course(tmp_path / "course", sqlite_url(tmp_path / "course" / "gradebook.db"))
    prepare_course(course, [NOTEBOOK], Limits(sandboxed=False))
    graded = graded_like_autograde(nbformat.read(course.release(NOTEBOOK), as_version=4))
    late = DUE + datetime.timedelta(days=2)
    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_assignment(NOTEBOOK, duedate=DUE)
        gradebook.update_or_create_student(STUDENT)
        gradebook.update_or_create_submission(NOTEBOOK, STUDENT, timestamp=late)
        reviewed = gradebook.find_submission_notebook(NOTEBOOK, NOTEBOOK, STUDENT).grades[-1]
        reviewed.manual_score = 1.0
        gradebook.db.commit()
    replayed, recorded = tmp_path / "replayed.db", tmp_path / "recorded.db"
    for copy in (replayed, recorded):
        shutil.copyfile(tmp_path / "course" / "gradebook.db", copy)
    details = {"student": STUDENT, "assignment": NOTEBOOK, "notebook": NOTEBOOK}
    resources = {"nbgrader": {**details, "db_url": sqlite_url(replayed)}}
    node = nbformat.from_dict(graded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for preprocessor in (SaveAutoGrades(config=CONFIG), AssignLatePenalties(config=CONFIG)):
            node, resources = preprocessor.preprocess(node, resources)
    try:
        marks = marks_of(graded)
        record_autograded(sqlite_url(recorded), NOTEBOOK, marks, NOTEBOOK, STUDENT, late, CONFIG)
    finally:
        close_recording()
    expected = rows(sqlite_url(replayed))
    assert rows(sqlite_url(recorded)) == expected
    grades, comments, penalty, _ = expected
    # The case covers what it claims: partial credit, zeros, review, untouched answers and a penalty.
    assert {score for _, score, _ in grades} >= {0.5, 0.0}
    assert any(review for _, _, review in grades)
    assert ("No response." in {comment for _, comment in comments}) and None in {c for _, c in comments}
    assert penalty is not None and penalty > 0
