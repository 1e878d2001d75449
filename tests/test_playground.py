"""08's ungraded playground: on the public and the hidden instances it shows its sliders and, under them,
the still default figure; without ipywidgets (a student's own Python) it still draws that figure and says
how to get the sliders. It is no task: no key, no points, and the answer file is what the tasks make."""

from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import TEST_INSTANCES

from graders.classroom.notebook_runs import execute
from graders.core.paths import answers_dir
from graders.core.specs import specs_for

pytestmark = pytest.mark.slow

NOTEBOOK = "08_adam_by_hand"
SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / f"{NOTEBOOK}.ipynb"
SLIDERS_CELL = "playground-sliders"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NO_SLIDERS = "No sliders: ipywidgets is not installed. Run `%pip install ipywidgets`, then this cell again."


def playground_outputs(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The sliders cell's outputs, sorted: widget views, printed text, still figures, errors and stderr."""
    (cell,) = [cell for cell in notebook.cells if cell.get("id") == SLIDERS_CELL]
    outputs = cell.outputs
    return {
        "widgets": [o for o in outputs if WIDGET_VIEW in o.get("data", {})],
        "stdout": "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout"),
        "figures": [o for o in outputs if "image/png" in o.get("data", {})],
        "problems": [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"],
    }


@pytest.mark.parametrize("instance", [0, *TEST_INSTANCES])
def test_the_playground_shows_sliders_and_the_still_figure_on_every_instance(
    executed_solutions: dict, executed_instances: dict, instance: int
) -> None:
    run = executed_solutions[NOTEBOOK] if instance == 0 else executed_instances[(NOTEBOOK, instance)]
    assert not isinstance(run, Exception), run
    shown = playground_outputs(run.notebook)
    assert shown["problems"] == []
    assert len(shown["widgets"]) == 1 and len(shown["figures"]) == 1
    assert NO_SLIDERS not in shown["stdout"]


def test_without_ipywidgets_the_playground_draws_its_still_figure_and_says_how_to_get_sliders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module of that name first on the kernel's path, failing as a missing one does.
    (tmp_path / "ipywidgets.py").write_text("raise ModuleNotFoundError(\"No module named 'ipywidgets'\")\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    run = execute(SOLUTION, answers_dir())
    shown = playground_outputs(run.notebook)
    assert shown["problems"] == [] and shown["widgets"] == []
    assert NO_SLIDERS in shown["stdout"]
    assert len(shown["figures"]) == 1


def test_the_playground_is_no_task() -> None:
    notebook = nbformat.read(SOLUTION, as_version=4)
    at = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "playground-intro")
    playground = notebook.cells[at:]
    assert [cell.get("id") for cell in playground] == ["playground-intro", "playground", SLIDERS_CELL]
    assert not any(cell.metadata.get("nbgrader") for cell in playground), "a playground cell is graded"
    assert all(cell.source.startswith("# extra code –") for cell in playground if cell.cell_type == "code")
    names = {word for cell in playground for word in cell.source.replace("(", " ").split()}
    assert not names & set(specs_for(NOTEBOOK)), "the playground defines an answer key"
