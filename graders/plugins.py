"""nbgrader plugins the class grader configures: a zip collector that says what it could not place."""

import json
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from graders.roster import student_id_problem


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
