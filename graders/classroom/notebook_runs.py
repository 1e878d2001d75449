"""Run a course notebook top to bottom in a fresh kernel, on a problem instance, outside any sandbox.

The classroom makes hidden instances' references with it (graders.classroom.references), publishing the
answers and the site's executed copies (graders.publishing.build): here, the classroom needs no publishing.
"""

import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from graders.core.answer_files import answer_file
from graders.core.instances import INSTANCE_VARIABLE, PUBLIC_INSTANCE
from graders.core.specs import cell_timeout_for

# A run here is the course's own code (a solution, or a test's variant of one), never a student's: the
# limit stops a solution that hangs, and allows this multiple of the grading limit because the build and
# the tests run several notebooks on each core, where a class is graded with one kernel per core.
SOLUTION_TIMEOUT_FACTOR = 2


@dataclass(frozen=True)
class Execution:
    """A notebook after a run: its cells with outputs and the answer file it dumped."""

    notebook: nbformat.NotebookNode
    answer_json: bytes | None


def solution_cell_timeout(notebook: str) -> int:
    """Seconds a cell of `notebook` may run here: its grading limit (graders.core.specs), times the factor."""
    return cell_timeout_for(notebook) * SOLUTION_TIMEOUT_FACTOR


def execute(
    notebook: Path,
    reference_dir: Path,
    *,
    allow_errors: bool = False,
    copy_of: Path | None = None,
    instance: int = PUBLIC_INSTANCE,
) -> Execution:
    """Run a notebook (named NN_topic.ipynb) top to bottom in a fresh kernel inside a scratch folder.

    allow_errors: run every cell and keep each error as the cell's output, instead of stopping at the
    first. copy_of: a folder copied into the scratch folder first, so the notebook runs among its siblings.
    instance: the problem instance the notebook solves (graders.core.instances).
    """
    with tempfile.TemporaryDirectory(prefix=f"run-{notebook.stem}-") as workdir:
        if copy_of is not None:
            shutil.copytree(copy_of, workdir, dirs_exist_ok=True)
        node = nbformat.read(notebook, as_version=4)
        client = NotebookClient(
            node,
            timeout=solution_cell_timeout(notebook.stem),
            kernel_name="python3",
            allow_errors=allow_errors,
            resources={"metadata": {"path": workdir}},
            extra_arguments=["--InlineBackend.figure_formats=retina"],  # sharp plots on the site's pages
        )
        env = {
            **os.environ,
            "GRADERS_ANSWERS_DIR": str(reference_dir),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            INSTANCE_VARIABLE: str(instance),
        }
        client.execute(env=env)
        answer = Path(workdir) / answer_file(notebook.stem)
        return Execution(node, answer.read_bytes() if answer.exists() else None)


def run_many(
    notebooks: list[Path],
    reference_dir: Path,
    jobs: int,
    *,
    allow_errors: bool = False,
    copy_of: Path | None = None,
    instance: int = PUBLIC_INSTANCE,
) -> dict[str, Execution | Exception]:
    """Execute notebooks in parallel; a notebook that fails yields its exception, not a lost batch.

    allow_errors, copy_of and instance are execute's, the same for every notebook."""
    options = {"allow_errors": allow_errors, "copy_of": copy_of, "instance": instance}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            notebook.stem: pool.submit(execute, notebook, reference_dir, **options) for notebook in notebooks
        }
        return {name: future.exception() or future.result() for name, future in futures.items()}
