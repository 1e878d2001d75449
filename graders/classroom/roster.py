"""The class list: a CSV in `nbgrader db student import`'s columns (id, first_name, last_name, email)."""

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from graders.classroom.files import printable

ROSTER_FIELDS = ("first_name", "last_name", "email")

# nbgrader's gradebook stores a student id in 128 characters.
MAX_STUDENT_ID_CHARS = 128
# Beside letters (any script, with their combining accents) and decimal digits: what LMS ids and e-mail
# style logins hold. An id is printed in formgrader's pages, grades.csv and reports, so it must be a plain
# word there: no markup, quotes, spaces or formula signs.
STUDENT_ID_PUNCTUATION = "._@-"
STUDENT_ID_CATEGORIES = ("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd")


class RosterError(ValueError):
    """The roster cannot be used; the message names the line and the problem."""


@dataclass(frozen=True)
class Student:
    """One student as nbgrader's gradebook knows them."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


def student_id_problem(student_id: str) -> str:
    """What keeps a name from being a student id: a gradebook key, a folder and a plain word in every page
    and file that prints it ('' when nothing)."""
    try:
        student_id.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(not character.isprintable() for character in student_id):
        return "holds control characters (a newline?)"
    if not student_id:
        return "is empty"
    if student_id.startswith("."):
        return "starts with '.'"
    if "/" in student_id:  # a folder inside submitted/, or with '..' outside it
        return "holds a '/'"
    if len(student_id) > MAX_STUDENT_ID_CHARS:
        return f"is longer than {MAX_STUDENT_ID_CHARS} characters (nbgrader's limit)"
    if odd := [character for character in student_id if not _plain(character)]:
        return (
            f"holds {', '.join(map(repr, dict.fromkeys(odd)))}: an id is letters, digits and "
            f"{STUDENT_ID_PUNCTUATION} only"
        )
    if student_id.startswith("-"):
        return "starts with '-'"
    return ""


def _plain(character: str) -> bool:
    return character in STUDENT_ID_PUNCTUATION or unicodedata.category(character) in STUDENT_ID_CATEGORIES


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
    if problem := student_id_problem(student_id):
        raise RosterError(f"{where}: student id '{printable(student_id)}' {problem}")
    fields = {name: (row.get(name) or "").strip() for name in ROSTER_FIELDS}
    return Student(student_id, **fields)
