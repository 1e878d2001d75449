"""nbgrader plugins the class grader configures: a zip collector that says what it could not place."""

from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode


class RecordingCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector, which also lists each file its pattern did not match."""

    skipped_file = Unicode("", help="file that gets one line per submitted file not collected").tag(
        config=True
    )

    def collect(self, submitted_file: str) -> dict[str, str] | None:
        info = super().collect(submitted_file)
        if info is None and self.skipped_file:
            with Path(self.skipped_file).open("a", encoding="utf-8") as record:
                record.write(submitted_file + "\n")
        return info
