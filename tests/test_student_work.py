"""No command a student runs overwrites their work: generated notebooks refreshed, worked ones kept."""

import shutil
from pathlib import Path

import nbformat

from graders.core.paths import NOTEBOOKS_DIR, SOLUTIONS_DIR
from graders.publishing.build import generate_student, student_work

NOTEBOOK = "00_autograd"


def released_copy(folder: Path) -> Path:
    copy = folder / f"{NOTEBOOK}.ipynb"
    shutil.copyfile(NOTEBOOKS_DIR / copy.name, copy)
    return copy


def test_a_generated_notebook_holds_no_work_and_is_regenerated(tmp_path):
    released = released_copy(tmp_path)
    assert student_work(released) == ""
    released.write_text(released.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert generate_student([SOLUTIONS_DIR / released.name], tmp_path) == [released]
    fresh = generate_student([SOLUTIONS_DIR / released.name], tmp_path / "fresh")
    assert released.read_bytes() == fresh[0].read_bytes()


def test_a_filled_in_task_is_kept_and_the_note_says_how_to_keep_or_discard_it(tmp_path, capsys):
    worked = released_copy(tmp_path)
    notebook = nbformat.read(worked, as_version=4)
    task = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("solution"))
    task.source = "x = torch.tensor(2.0, requires_grad=True)  # my own work"
    nbformat.write(notebook, worked)
    before = worked.read_bytes()
    assert generate_student([SOLUTIONS_DIR / worked.name], tmp_path) == []
    assert worked.read_bytes() == before
    note = capsys.readouterr().out
    assert (
        f"kept {worked}, not regenerated: it holds a filled-in task (cell {task.metadata.nbgrader.grade_id})"
        in note
    )
    assert f"git checkout {worked}" in note


def test_outputs_of_a_run_count_as_work(tmp_path):
    ran = released_copy(tmp_path)
    notebook = nbformat.read(ran, as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Python 3.11\n")]
    nbformat.write(notebook, ran)
    assert student_work(ran).startswith("outputs of a run")


def test_a_file_that_is_not_a_notebook_is_never_overwritten(tmp_path):
    odd = tmp_path / f"{NOTEBOOK}.ipynb"
    odd.write_text("my notes, not JSON", encoding="utf-8")
    assert student_work(odd) == "content that is not a generated notebook"
