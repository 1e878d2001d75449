"""The class overview (graders.classroom.class_overview) on a small class of 00_autograd answer files with
typical
mistakes, graded outside any kernel: the counts, shares and students on the page and in the CSVs."""

import csv
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from graders.classroom.class_overview import (
    DIAGNOSES_CSV,
    PAGE,
    SHOWN_STUDENTS,
    TASKS_CSV,
    summarise,
    write_overview,
)
from graders.classroom.report_rows import Row, fast_path_row
from graders.classroom.roster import Student
from graders.core.answer_files import save_answers
from graders.core.grading import MISSING, KeyResult, load_reference
from graders.core.scoring import Submission, grade_folder
from graders.core.specs import specs_for

NOTEBOOK = "00_autograd"
HINTS = {key: spec.hint for key, spec in specs_for(NOTEBOOK).items()}
SIGN = "the sign is flipped: did you forget the minus sign (or add one too many)?"


def write_answers(root: Path, student: str, **changes: Any) -> None:
    """The public reference answers with some keys changed (None: left out), as a student's answer file."""
    answers = dict(load_reference(NOTEBOOK)) | changes
    answers = {key: value for key, value in answers.items() if value is not None}
    path = root / student / NOTEBOOK / f"{NOTEBOOK}.answer.json"
    path.parent.mkdir(parents=True)
    save_answers(answers, path)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """Five students: one right, two with X_grad halved, one of them also with a flipped sign, one
    with the graph walked backwards and a key not saved, and one who submitted nothing."""
    root = tmp_path_factory.mktemp("answers")
    reference = load_reference(NOTEBOOK)
    write_answers(root, "ada")
    write_answers(root, "ben", X_grad=reference["X_grad"] / 2)
    write_answers(root, "cy", X_grad=reference["X_grad"] / 2, accumulated_grad=-reference["accumulated_grad"])
    write_answers(
        root, "dee.x@uni", graph_path=list(reversed(reference["graph_path"])), grad_after_zeroing=None
    )
    submissions = grade_folder(root, [NOTEBOOK], students=["eve"])
    return [fast_path_row(submission, Student(submission.student)) for submission in submissions]


@pytest.fixture(scope="module")
def written(rows: list[Row], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    assert write_overview(rows, folder) == [folder / PAGE, folder / TASKS_CSV, folder / DIAGNOSES_CSV]
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_the_notebook_counts_only_graded_students_and_names_the_others(rows: list[Row]) -> None:
    [summary] = summarise(rows)
    assert summary.scores == (("ada", 7), ("ben", 5), ("cy", 4), ("dee.x@uni", 5))
    assert summary.not_graded == (("eve", "missing 00_autograd.answer.json"),)
    assert (summary.graded, summary.full_marks, summary.mean, summary.max_score) == (4, 1, 5.25, 7)


def test_each_task_has_its_mean_and_share_of_full_marks(written: Path) -> None:
    tasks = {row["task"]: row for row in read_csv(written / TASKS_CSV)}
    assert list(tasks) == list(HINTS)
    wanted = {
        "sum_grads": ("1", "4", "1", "4", "1.000", "0"),
        "X_grad": ("2", "4", "1", "2", "0.500", "2"),
        "graph_path": ("1", "4", "0.75", "3", "0.750", "1"),
        "accumulated_grad": ("1", "4", "0.75", "3", "0.750", "1"),
        "grad_after_zeroing": ("1", "4", "0.75", "3", "0.750", "1"),
        "requires_grad_flags": ("1", "4", "1", "4", "1.000", "0"),
    }
    columns = ("points", "graded", "mean", "full_marks", "share_full_marks", "no_points")
    assert {key: tuple(row[c] for c in columns) for key, row in tasks.items()} == wanted


def test_misconceptions_are_the_causes_that_fired_with_their_students(written: Path) -> None:
    diagnoses = [
        (row["task"], row["cause"], row["students"], row["share_of_graded"], row["student_ids"])
        for row in read_csv(written / DIAGNOSES_CSV)
    ]
    # The most common first; a student who submitted nothing is no misconception.
    assert diagnoses == [
        ("X_grad", HINTS["X_grad"], "2", "0.500", "ben cy"),
        ("graph_path", HINTS["graph_path"], "1", "0.250", "dee.x@uni"),
        ("grad_after_zeroing", MISSING, "1", "0.250", "dee.x@uni"),
        ("accumulated_grad", SIGN, "1", "0.250", "cy"),
    ]


def test_the_page_shows_the_same_counts(written: Path) -> None:
    page = " ".join((written / PAGE).read_text(encoding="utf-8").split())
    assert "4 graded, mean 5.25 of 7 points, 1 with full marks (25 %)." in page
    assert page.count('src="data:image/png;base64,') == 2
    causes = [escape(cause) for cause in (HINTS["X_grad"], HINTS["graph_path"], MISSING, SIGN)]
    assert [page.index(cause) for cause in causes] == sorted(page.index(cause) for cause in causes)
    assert "2 of 4 students (50 %)" in page and "<code>ben</code> <code>cy</code>" in page
    assert "<code>eve</code>: missing 00_autograd.answer.json" in page


HOSTILE = '<script>alert("cause")</script>'


def crafted_rows(students: int) -> list[Row]:
    """Rows whose causes and findings carry HTML and a spreadsheet formula, and one cause that hits many."""
    rows = []
    for number in range(students):
        results = [
            KeyResult("sum_grads", 0.0, 1.0, "wrong", HOSTILE),
            KeyResult("X_grad", 0.0, 2.0, "wrong", '=HYPERLINK("http://example.org")'),
        ]
        rows.append(
            Row(
                Student(f"s{number:02d}@uni.org"), Submission(f"s{number:02d}", NOTEBOOK, results), instance=0
            )
        )
    rows.append(Row(Student("x"), Submission("x", NOTEBOOK, []), ("<img src=x onerror=alert(1)>",)))
    return rows


def test_html_from_causes_and_findings_is_escaped_and_formulas_neutral(tmp_path: Path) -> None:
    write_overview(crafted_rows(SHOWN_STUDENTS + 1), tmp_path)
    page = (tmp_path / PAGE).read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page
    assert escape(HOSTILE) in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # More students than SHOWN_STUDENTS: the list is folded, the count stays in view.
    assert f"<details><summary>the {SHOWN_STUDENTS + 1} students</summary>" in page
    causes = {row["task"]: row["cause"] for row in read_csv(tmp_path / DIAGNOSES_CSV)}
    assert causes == {"sum_grads": HOSTILE, "X_grad": '\'=HYPERLINK("http://example.org")'}


def shown_in_chromium(browser: Any, page_file: Path, width: int) -> tuple[list[str], dict[str, Any]]:
    """Console errors, script errors and requests beyond the file, and what the page shows at this width."""
    page = browser.new_page(viewport={"width": width, "height": 844})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda request: None if request.url.startswith(("file:", "data:")) else problems.append(request.url),
    )
    page.goto(page_file.as_uri())
    shown = page.evaluate(
        """() => ({
            plots: [...document.images].map(image => image.complete && image.naturalWidth > 0),
            wide: document.documentElement.scrollWidth,
            misconceptions: [...document.querySelectorAll('ol.misconceptions > li')].length,
        })"""
    )
    page.close()
    return problems, shown


@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_opens_cleanly_in_a_browser_on_a_laptop_and_a_phone(
    browser: Any, written: Path, width: int
) -> None:
    problems, shown = shown_in_chromium(browser, written / PAGE, width)
    assert problems == []
    # Both plots drawn, nothing wider than the screen (tables scroll inside their box), every misconception.
    assert shown == {"plots": [True, True], "wide": width, "misconceptions": 4}
