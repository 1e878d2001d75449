"""The dump cell's structured record of the answer file it wrote, and what the grader reads of it.

dump_answers displays, beside its printed line, a record in its own MIME type holding the SHA-256 of
the bytes it wrote. After the kernel is gone, ScoreOutsideKernel reads the (restored, locked) dump cell's
outputs into DumpFacts and writes them to a file outside the kernel's folder, before any later
preprocessor drops unknown output types; the audit then compares the record with the graded file.
A printed "saved" line proves nothing: only the record counts.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

DUMP_MIME = "application/vnd.graders.answer-dump+json"
# The call the locked dump cell makes (graders.core.student.dump_answers).
DUMP_CALL = "dump_answers("


@dataclass(frozen=True)
class DumpFacts:
    """What the run's dump cell left: how many locked dump cells there were, the error that stopped the
    last one ('' for none), and the SHA-256 its record gives for the file it wrote ('' for no record)."""

    cells: int
    error: str = ""
    sha256: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_mapping(cls, fields: Any) -> "DumpFacts | None":
        """DumpFacts from a parsed record, None when it is not one (an older run's done file)."""
        if not isinstance(fields, dict):
            return None
        return cls(int(fields.get("cells", 0)), str(fields.get("error", "")), str(fields.get("sha256", "")))


def dump_record(path: Path, saved: list[str]) -> dict[str, Any]:
    """The record dump_answers displays for the file it just wrote."""
    return {"file": path.name, "sha256": file_sha256(path), "keys": saved}


def file_sha256(path: Path) -> str:
    """SHA-256 of a regular file's bytes ('' when there is none: missing, a symlink, a FIFO)."""
    if path.is_symlink() or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump_facts(notebook: NotebookNode) -> DumpFacts:
    """The facts of the last locked dump cell of an executed notebook (cells=0 when it has none)."""
    dump_cells = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code"
        and cell.get("metadata", {}).get("nbgrader", {}).get("locked")
        and DUMP_CALL in cell.source
    ]
    if not dump_cells:
        return DumpFacts(0)
    outputs = dump_cells[-1].get("outputs", [])
    errors = [output.get("ename", "") or "an error" for output in outputs if output.output_type == "error"]
    records = [
        output.data[DUMP_MIME]
        for output in outputs
        if output.output_type == "display_data" and isinstance(output.get("data", {}).get(DUMP_MIME), dict)
    ]
    sha256 = str(records[-1].get("sha256", "")) if records else ""
    return DumpFacts(len(dump_cells), errors[0] if errors else "", sha256)
