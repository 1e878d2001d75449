"""Notebooks in git carry no outputs or execution counts: diffs stay readable and nothing run leaks out."""

import re
from pathlib import Path

import nbformat
import pytest

from graders.core.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR

COMMITTED = sorted([*SOLUTIONS_DIR.glob("*.ipynb"), *NOTEBOOKS_DIR.glob("*.ipynb")])


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_committed_notebook_has_no_outputs_or_execution_counts(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    run = [cell.id for cell in code if cell.outputs or cell.execution_count is not None]
    assert run == [], f"cells {run} were saved after running: `.venv/bin/nbstripout --keep-id {path}`"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_progress_bars_survive_saving(path: Path) -> None:
    """Widget bars (tqdm.auto, tqdm.notebook) show "model not found" when a saved notebook is reopened."""
    notebook = nbformat.read(path, as_version=4)
    widget_bars = [
        cell.id for cell in notebook.cells if "tqdm.auto" in cell.source or "tqdm.notebook" in cell.source
    ]
    assert widget_bars == [], f"cells {widget_bars} use widget progress bars: use `from tqdm import tqdm`"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_cells_hold_no_control_characters(path: Path) -> None:
    """A LaTeX command written through a non-raw Python string ("\\alpha" as BEL + "lpha") breaks the math."""
    notebook = nbformat.read(path, as_version=4)
    control = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    found = {cell.id: control.findall(cell.source) for cell in notebook.cells if control.search(cell.source)}
    assert found == {}, f"cells hold control characters (a mistyped LaTeX escape?): {found}"
