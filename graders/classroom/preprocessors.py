"""nbgrader preprocessors the course adds to autograde (nbgrader_config.py lists them).

The student's kernel is never trusted with a score: ScoreOutsideKernel runs after Execute has shut the
kernel down, grades the answer file the kernel left with the safe loader and the specs, and writes each
graded cell's points and messages into that cell, where SaveAutoGrades reads them.
"""

import ast
import json
import sys
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Integer, Unicode

from graders.classroom.files import prune_deep_folders
from graders.classroom.hidden_instances import fresh_instance_note
from graders.core.answer_files import find_answer_file
from graders.core.dump_record import dump_facts
from graders.core.grading import KeyResult, describe, total
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.loader import load_answers
from graders.core.scoring import grade_answer_file

# The function a graded cell calls: grade(NOTEBOOK, "key", ...) names the keys the cell scores.
GRADE_CALL = "grade"


class ExecuteRecordingFailure(Execute):
    """nbgrader's Execute, which also writes why the notebook could not run, for the class report.

    The file lies outside the kernel's folder, so the kernel cannot forge it.
    """

    failure_file = Unicode("", help="JSON file for the error that stopped execution ('': none)").tag(
        config=True
    )

    def output(
        self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        """Each output as it arrives, within LimitOutputSize's budget: nbgrader never holds more of it."""
        out = super().output(outs, msg, display_id, cell_index)
        budget = self._output_budget
        if out is None or budget < 0 or not outs or outs[-1] is not out:
            return out
        size = output_size(out)
        before = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = before + size
        if before + size <= budget:
            return out
        if before < budget or out.output_type == "error" or display_id:
            outs[-1] = cut_output(out, max(0, budget - before), size)
        else:  # dropped as it arrives; an output with a display id keeps its place for its updates
            outs.pop()
        return out

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict, retries: int | None = None
    ) -> tuple[NotebookNode, ResourcesDict]:
        self._output_budget = LimitOutputSize(config=self.config).max_chars
        self._output_chars: dict[int, int] = {}
        try:
            return super().preprocess(nb, resources, retries)
        except Exception as error:
            if self.failure_file:
                failure = {"error": type(error).__name__, "message": str(error)[-500:]}
                Path(self.failure_file).write_text(json.dumps(failure), encoding="utf-8")
            raise


class ForgetUnknownCells(NbGraderPreprocessor):
    """Before OverwriteCells: a cell claiming a grade id the assignment lacks becomes an ordinary cell.

    nbgrader fails the whole notebook on such a cell, and on the empty claim DeduplicateIds leaves on a
    duplicate; dropping the claim lets OverwriteCells restore the real cells and grade the rest
    (graders.classroom.audit flags the submission).
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        known = assignment_cell_ids(resources)
        for cell in nb.cells:
            if "nbgrader" in cell.metadata and cell_grade_id(cell) not in known:
                del cell.metadata["nbgrader"]
        return nb, resources


class ScoreOutsideKernel(NbGraderPreprocessor):
    """After Execute: each graded cell's output becomes its score, computed here from the answer file.

    The class grader passes the reference of the submission's instance, and a file outside the kernel's
    folder for the dump cell's record (graders.core.dump_record), read here before any later preprocessor
    drops output types it does not know.
    """

    reference_file = Unicode("", help="reference answers to grade against ('': the public answers/)").tag(
        config=True
    )
    instance = Integer(0, help="the problem instance the kernel solved (0: the public one)").tag(config=True)
    dump_file = Unicode("", help="JSON file for the dump cell's facts ('': none)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        notebook = resources["nbgrader"]["notebook"]
        folder = Path(resources["metadata"]["path"])
        if self.dump_file:
            Path(self.dump_file).write_text(dump_facts(nb).to_json(), encoding="utf-8")
        reference = load_answers(self.reference_file) if self.reference_file else None
        graded = grade_answer_file(notebook, find_answer_file(folder, notebook), reference)
        results = {result.key: result for result in graded.results}
        # The first graded cell tells the student why the numbers differ from their notebook's.
        note = f"{fresh_instance_note(self.instance)}\n" if self.instance != PUBLIC_INSTANCE else ""
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                cell.outputs = score_outputs([results[key] for key in graded_keys(cell.source)], cell)
                cell.outputs[0].text, note = note + cell.outputs[0].text, ""
        return nb, resources


class PruneKernelFolder(NbGraderPreprocessor):
    """After Execute: folders the kernel nested deeper than graders.classroom.submission_limits allows are
    removed and named.

    nbgrader then walks the folder (os.walk, which recurses), and would fail on a kernel's 1,000 levels.
    The names go to report_file, outside the kernel's folder.
    """

    report_file = Unicode("", help="JSON file for the folders removed ('': none)").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        pruned = prune_deep_folders(Path(resources["metadata"]["path"]))
        if self.report_file and pruned:
            Path(self.report_file).write_text(json.dumps(pruned), encoding="utf-8")
        return nb, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Cut each cell's outputs to max_chars in all: LimitOutput counts lines, and one line can be megabytes.

    Every output type counts (stream text, each MIME type of a display or result, a traceback): the first
    output past the budget is cut with a note, later ones are dropped, except errors, which the audit reads.
    """

    max_chars = Integer(100_000, help="characters of output kept per cell, all types (-1: no limit)").tag(
        config=True
    )

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and self.max_chars >= 0:
            cell.outputs = limit_outputs(cell.outputs, self.max_chars)
        return cell, resources


def output_size(output: NotebookNode) -> int:
    """Characters an output holds, whatever its type: stream text, each MIME type of a bundle, a traceback."""
    if output.output_type == "stream":
        return len(output.get("text", ""))
    if output.output_type == "error":
        parts = [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
    else:
        parts = [*output.get("data", {}).values(), output.get("metadata", {})]
    return sum(len(part) if isinstance(part, str) else _json_chars(part) for part in parts)


def _json_chars(value: object) -> int:
    try:
        return len(json.dumps(value))
    except (TypeError, ValueError, RecursionError):  # not JSON at all: more than any budget
        return sys.maxsize


# What an error keeps of its message when cut: the audit reads the error's name and message.
ERROR_MESSAGE_CHARS = 1000


def cut_output(output: NotebookNode, budget: int, size: int) -> NotebookNode:
    """The output cut to about `budget` characters of its `size`, with a note saying so."""
    note = f"... output truncated ({size:,} characters) ..."
    if output.output_type == "stream":
        output.text = output.text[:budget] + f"\n{note}\n"
    elif output.output_type == "error":
        output.evalue = output.get("evalue", "")[: max(budget, ERROR_MESSAGE_CHARS)]
        output.traceback = [note]
    else:
        output.data = {"text/plain": note}
        output.metadata = {}
    return output


def limit_outputs(outputs: list[NotebookNode], budget: int) -> list[NotebookNode]:
    """The outputs within `budget` characters: the first one past it cut, later ones dropped, errors cut."""
    kept = []
    for output in outputs:
        size = output_size(output)
        if size <= budget:
            kept.append(output)
            budget -= size
        elif budget > 0 or output.output_type == "error":
            kept.append(cut_output(output, budget, size))
            budget = 0
    return kept


def graded_keys(source: str) -> list[str]:
    """The answer keys a graded cell's `grade(NOTEBOOK, "key", ...)` call scores."""
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == GRADE_CALL
    ]
    keys = [
        argument.value for call in calls for argument in call.args[1:] if isinstance(argument, ast.Constant)
    ]
    if not keys or not all(isinstance(key, str) for key in keys):
        raise ValueError(f"a graded cell must call {GRADE_CALL}(NOTEBOOK, 'key', ...), not:\n{source}")
    return keys


def score_outputs(results: list[KeyResult], cell: NotebookNode) -> list[NotebookNode]:
    """What the graded cell shows: one line per key, and the points as the result nbgrader reads."""
    earned, _ = total(results)
    lines = "".join(describe(result) + "\n" for result in results)
    return [
        new_output("stream", name="stdout", text=lines),
        new_output(
            "execute_result", data={"text/plain": f"{earned:g}"}, execution_count=cell.execution_count
        ),
    ]


def assignment_cell_ids(resources: ResourcesDict) -> set[str]:
    """The grade ids of every cell nbgrader knows in this notebook of the assignment."""
    details = resources["nbgrader"]
    with Gradebook(details["db_url"]) as gradebook:
        notebook = gradebook.find_notebook(details["notebook"], details["assignment"])
        cells = [
            *notebook.source_cells,
            *notebook.grade_cells,
            *notebook.solution_cells,
            *notebook.task_cells,
        ]
        return {cell.name for cell in cells}


def cell_grade_id(cell: NotebookNode) -> str:
    """The nbgrader grade id a cell claims ('' for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
