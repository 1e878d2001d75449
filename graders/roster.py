"""The class list: a CSV in `nbgrader db student import`'s columns (id, first_name, last_name, email)."""

import csv
from dataclasses import dataclass
from pathlib import Path

ROSTER_FIELDS = ("first_name", "last_name", "email")


class RosterError(ValueError):
    """The roster cannot be used; the message names the line and the problem."""


@dataclass(frozen=True)
class Student:
    """One student as nbgrader's gradebook knows them."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def load_roster(path: Path) -> dict[str, Student]:
    """Students by id, in the file's order; `id` (or `student_id`) is the only required column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read roster {path}: {error}") from None
    rows = csv.DictReader(text.splitlines())
    id_column = next((name for name in ("id", "student_id") if name in (rows.fieldnames or [])), None)
    if id_column is None:
        raise RosterError(f"roster {path} needs an 'id' column (has: {', '.join(rows.fieldnames or [])})")
    students: dict[str, Student] = {}
    for line, row in enumerate(rows, start=2):
        student = _student(row, id_column, f"{path}:{line}")
        if student.id in students:
            raise RosterError(f"{path}:{line}: student {student.id!r} is listed twice")
        students[student.id] = student
    return students


def _student(row: dict[str, str | None], id_column: str, where: str) -> Student:
    student_id = (row.get(id_column) or "").strip()
    if not student_id:
        raise RosterError(f"{where}: empty student id")
    fields = {name: (row.get(name) or "").strip() for name in ROSTER_FIELDS}
    return Student(student_id, **fields)
