"""nbgrader preprocessors the course adds to autograde (nbgrader_config.py lists them)."""

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class StderrAsStdout(NbGraderPreprocessor):
    """In graded cells, show stderr as ordinary output: nbgrader scores a cell that wrote to stderr 0.

    The course's test cells report failure through the points they return, never through stderr, so
    anything there is a library's warning and must not cost a correct answer its points.
    """

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Cut each cell's printed text to max_chars: LimitOutput counts lines, and one line can be megabytes."""

    max_chars = Integer(100_000, help="characters of stream output kept per cell (-1: no limit)").tag(
        config=True
    )

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code" or self.max_chars < 0:
            return cell, resources
        budget = self.max_chars
        for output in cell.outputs:
            if output.output_type == "stream":
                if len(output.text) > budget:
                    output.text = (
                        output.text[:budget]
                        + f"\n... output truncated ({len(output.text):,} characters) ...\n"
                    )
                budget = max(0, budget - len(output.text))
        return cell, resources
