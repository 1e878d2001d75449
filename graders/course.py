"""Lay out an nbgrader course directory from solutions/: one assignment per notebook."""

import shutil
from pathlib import Path

from graders.paths import REPO_ROOT, SOLUTIONS_DIR

NBGRADER_CONFIG = REPO_ROOT / "nbgrader_config.py"


def solution_notebooks() -> list[Path]:
    """The course's source notebooks, in order."""
    return sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def make_course_dir(root: Path, notebooks: list[Path] | None = None) -> Path:
    """Create `root` with nbgrader_config.py and source/<NN_topic>/<NN_topic>.ipynb for each notebook."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NBGRADER_CONFIG, root / "nbgrader_config.py")
    for notebook in notebooks or solution_notebooks():
        assignment = root / "source" / notebook.stem
        assignment.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, assignment / notebook.name)
    return root
