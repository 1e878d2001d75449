"""The graded class at a glance: per notebook and task, the scores, the share with full marks, and the
misconceptions (each KeyResult's cause) with the students behind them, as one page and two CSVs."""

import base64
import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from graders.classroom.report_rows import TEMPLATES, Row, neutral
from graders.core.grading import UNRECOGNISED, KeyResult

PAGE = "class-report.html"
TASKS_CSV = "class-tasks.csv"
DIAGNOSES_CSV = "class-diagnoses.csv"
TASKS_COLUMNS = [
    "notebook",
    "task",
    "points",
    "graded",
    "mean",
    "full_marks",
    "share_full_marks",
    "partial",
    "no_points",
]
DIAGNOSES_COLUMNS = ["notebook", "task", "points", "cause", "students", "share_of_graded", "student_ids"]
# Above this many students a misconception's list is folded (<details>), so the counts stay in view.
SHOWN_STUDENTS = 8
# Full marks, some points, none: colours told apart with the common colour-vision deficiencies too.
COLOURS = ("#1b9e77", "#e6ab02", "#d95f02")


@dataclass(frozen=True)
class TaskSummary:
    """One task (answer key) over the students whose notebook was graded."""

    key: str
    points: float
    mean: float
    full: int
    partial: int
    none: int

    @property
    def graded(self) -> int:
        return self.full + self.partial + self.none

    @property
    def share_full(self) -> float:
        return self.full / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Misconception:
    """A cause that cost students points, on which tasks, and whom it hit."""

    cause: str
    students: tuple[str, ...]
    tasks: tuple[tuple[str, tuple[str, ...]], ...]  # (task, its students) in the notebook's task order


@dataclass(frozen=True)
class NotebookSummary:
    """One notebook: its graded students' scores, the students not graded (and why), tasks, misconceptions."""

    notebook: str
    max_score: float
    scores: tuple[tuple[str, float], ...]
    not_graded: tuple[tuple[str, str], ...]
    tasks: tuple[TaskSummary, ...]
    misconceptions: tuple[Misconception, ...]

    @property
    def graded(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return sum(score for _, score in self.scores) / self.graded if self.graded else 0.0

    @property
    def full_marks(self) -> int:
        return sum(score >= self.max_score for _, score in self.scores)

    @property
    def share_full(self) -> float:
        return self.full_marks / self.graded if self.graded else 0.0


def summarise(rows: Iterable[Row]) -> list[NotebookSummary]:
    """The summary of every notebook in the rows, in notebook order.

    A row graded on no instance (nothing submitted, or not gradable) counts as not graded: its zeros are
    no misconception. Scores are the gradebook's (after any late penalty); tasks are the answer file's.
    """
    by_notebook: dict[str, list[Row]] = {}
    for row in rows:
        by_notebook.setdefault(row.notebook, []).append(row)
    return [_notebook(notebook, by_notebook[notebook]) for notebook in sorted(by_notebook)]


def _notebook(notebook: str, rows: list[Row]) -> NotebookSummary:
    rows = sorted(rows, key=lambda row: row.student.id)
    graded = [row for row in rows if row.instance is not None]
    keys = list(dict.fromkeys(result.key for row in rows for result in row.graded.results))
    results = {
        key: [(row.student.id, r) for row in graded for r in row.graded.results if r.key == key]
        for key in keys
    }
    tasks = tuple(_task(key, results[key]) for key in keys if results[key])
    hits: dict[str, dict[str, list[str]]] = {}
    for key in keys:
        for student, result in results[key]:
            if not result.passed:
                hits.setdefault(result.cause or UNRECOGNISED, {}).setdefault(key, []).append(student)
    misconceptions = [
        Misconception(
            cause,
            tuple(sorted({student for students in on.values() for student in students})),
            tuple((key, tuple(on[key])) for key in keys if key in on),
        )
        for cause, on in hits.items()
    ]
    misconceptions.sort(key=lambda item: (-len(item.students), item.cause))
    return NotebookSummary(
        notebook,
        max((row.max_score for row in rows), default=0.0),
        tuple((row.student.id, row.score) for row in graded),
        tuple(
            (row.student.id, row.problems[0] if row.problems else "") for row in rows if row.instance is None
        ),
        tasks,
        tuple(misconceptions),
    )


def _task(key: str, results: list[tuple[str, KeyResult]]) -> TaskSummary:
    earned = [result.earned for _, result in results]
    points = results[0][1].points
    full = sum(result.passed for _, result in results)
    none = sum(not result.passed and result.earned == 0 for _, result in results)
    return TaskSummary(key, points, sum(earned) / len(earned), full, len(results) - full - none, none)


def _png(figure: Figure) -> str:
    """The figure as base64 PNG data for an <img>: the page needs no file beside it and no network."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(summary: NotebookSummary) -> str:
    """How the graded students' notebook scores spread from 0 to full marks."""
    figure = Figure(figsize=(5.2, 2.6))
    axes = figure.add_subplot()
    top = summary.max_score or 1.0
    bins = np.linspace(0.0, top, min(20, max(5, int(np.ceil(top)))) + 1)
    axes.hist([score for _, score in summary.scores], bins=bins, color=COLOURS[0], edgecolor="white")
    axes.set_xlim(0, top)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(f"{summary.notebook}: scores of {summary.graded} graded students")
    axes.set_xlabel(f"score (out of {top:g})")
    axes.set_ylabel("students")
    return _png(figure)


def task_bars(summary: NotebookSummary) -> str:
    """Per task, the shares of students with full marks, some points and none, as stacked bars."""
    tasks = list(reversed(summary.tasks))  # the first task on top
    figure = Figure(figsize=(3.6, 0.8 + 0.3 * max(len(tasks), 1)))
    axes = figure.add_subplot()
    left = np.zeros(len(tasks))
    for label, field, colour in zip(
        ("full marks", "some points", "no points"), ("full", "partial", "none"), COLOURS, strict=True
    ):
        shares = np.array([getattr(task, field) / task.graded for task in tasks]) if tasks else left
        axes.barh([task.key for task in tasks], shares * 100, left=left * 100, color=colour, label=label)
        left = left + shares
    axes.set_xlim(0, 100)
    axes.set_title(f"{summary.notebook}: students per task")
    axes.set_xlabel("share of graded students (%)")
    axes.set_ylabel("task")
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _png(figure)


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def overview_html(summaries: list[NotebookSummary], heading: str) -> str:
    """The page: an index of the notebooks, then one section each with plots, tasks and misconceptions."""
    return TEMPLATES.get_template("class_overview.html.j2").render(
        heading=heading,
        summaries=summaries,
        plots={s.notebook: (score_histogram(s), task_bars(s)) for s in summaries if s.graded},
        percent=percent,
        number=lambda value: f"{value:.3g}",
        shown=SHOWN_STUDENTS,
    )


def write_overview(rows: Iterable[Row], folder: Path, heading: str = "Class overview") -> list[Path]:
    """folder/class-report.html, class-tasks.csv and class-diagnoses.csv; returns their paths."""
    summaries = summarise(rows)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / PAGE
    page.write_text(overview_html(summaries, heading), encoding="utf-8")
    tasks = [
        {
            "notebook": s.notebook,
            "task": task.key,
            "points": f"{task.points:g}",
            "graded": str(task.graded),
            "mean": f"{task.mean:.4g}",
            "full_marks": str(task.full),
            "share_full_marks": f"{task.share_full:.3f}",
            "partial": str(task.partial),
            "no_points": str(task.none),
        }
        for s in summaries
        for task in s.tasks
    ]
    points = {(s.notebook, task.key): task.points for s in summaries for task in s.tasks}
    diagnoses = [
        {
            "notebook": s.notebook,
            "task": key,
            "points": f"{points[s.notebook, key]:g}",
            "cause": item.cause,
            "students": str(len(students)),
            "share_of_graded": f"{len(students) / s.graded:.3f}",
            "student_ids": " ".join(students),
        }
        for s in summaries
        for item in s.misconceptions
        for key, students in item.tasks
    ]
    _write_csv(folder / TASKS_CSV, TASKS_COLUMNS, tasks)
    _write_csv(folder / DIAGNOSES_CSV, DIAGNOSES_COLUMNS, diagnoses)
    return [page, folder / TASKS_CSV, folder / DIAGNOSES_CSV]


def _write_csv(path: Path, columns: list[str], records: list[dict[str, str]]) -> None:
    """Quoted like grades.csv, no field a formula (graders.classroom.report_rows.neutral)."""
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows({name: neutral(value) for name, value in record.items()} for record in records)
