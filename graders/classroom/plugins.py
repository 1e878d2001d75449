"""nbgrader plugins: a zip collector that says what it could not place, and the audited export.

`nbgrader export --exporter=graders.classroom.plugins.AuditedExport` in a course that `python -m graders
class`
graded writes the class command's grades.csv: nbgrader export's columns, `recomputed_score` and `audit`.
"""

import json
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin, FileNameCollectorPlugin
from traitlets import Unicode

from graders.classroom.autograde import recorded_outcomes
from graders.classroom.class_report import audited_rows
from graders.classroom.course import Course
from graders.classroom.report_rows import write_grades_csv
from graders.classroom.roster import student_id_problem


class RecordingCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector, which refuses odd student ids and lists each file it left out."""

    skipped_file = Unicode(
        "",
        help="file that gets a JSON line per submitted file not collected: its name, any refused id and why",
    ).tag(config=True)

    def collect(self, submitted_file: str) -> dict[str, str] | None:
        info = super().collect(submitted_file)
        if info is None:
            self._record({"file": submitted_file})
            return None
        student_id = info.get("student_id")
        # Checked before nbgrader makes submitted/<id>/: an id such as '..' or 'a/b' would land elsewhere.
        refusal = student_id_problem(student_id) if isinstance(student_id, str) else ""
        if refusal:
            self._record({"file": submitted_file, "student_id": student_id, "refused": refusal})
            return None
        return info

    def _record(self, skipped: dict[str, str]) -> None:
        if self.skipped_file:
            with Path(self.skipped_file).open("a", encoding="utf-8") as record:
                record.write(json.dumps(skipped) + "\n")


class AuditedExport(ExportPlugin):
    """nbgrader export's rows, each with the answer file's own score and the audit's findings."""

    def export(self, gradebook: Gradebook) -> None:
        course = Course(Path(self.parent.coursedir.root), self.parent.coursedir.db_url)
        notebooks = self.assignment or [assignment.name for assignment in gradebook.assignments]
        rows = audited_rows(course, notebooks, recorded_outcomes(course, notebooks))
        chosen = [row for row in rows if not self.student or row.student.id in self.student]
        write_grades_csv(chosen, Path(self.to or "grades.csv"))
