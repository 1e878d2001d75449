"""Per-notebook grading specs: graders/core/specs/nbNN_topic.py holds SPECS for notebook NN_topic.

It may also set CELL_TIMEOUT_SECONDS, the seconds one cell may run when the class is graded, and
INSTANCE_FREE, the keys whose answers are the same on every problem instance (graders.core.instances).
The cell timeout is set here only: nbgrader_config.py, the class grader and graders.classroom.notebook_runs
read it (ClassGrader.cell_timeout overrides it for one class).
"""

import importlib
import pkgutil
import re
from types import ModuleType

from graders.core.grading import Spec

NOTEBOOK_NAME = re.compile(r"\d\d_[a-z0-9_]+")
# At least 20 times the slowest solution cell measured by `make bench` (bench/results.md: the torch import
# in the setup cell, 1-2 s here), rounded up: an honest solution on a slow machine stays under it, an
# infinite loop is interrupted after it. A notebook whose cells are all fast sets a smaller one.
DEFAULT_CELL_TIMEOUT_SECONDS = 60


def specs_for(notebook: str) -> dict[str, Spec]:
    """The specs of one notebook, e.g. specs_for("00_autograd")."""
    return _spec_module(notebook).SPECS


def cell_timeout_for(notebook: str) -> int:
    """Seconds one cell of `notebook` may run when graded: its spec module's, or the default."""
    return getattr(_spec_module(notebook), "CELL_TIMEOUT_SECONDS", DEFAULT_CELL_TIMEOUT_SECONDS)


def instance_free_keys(notebook: str) -> frozenset[str]:
    """The keys of `notebook` whose answer no problem instance changes (e.g. names of graph nodes)."""
    return frozenset(getattr(_spec_module(notebook), "INSTANCE_FREE", ()))


def _spec_module(notebook: str) -> ModuleType:
    if not NOTEBOOK_NAME.fullmatch(notebook):
        raise ValueError(f"{notebook!r} is not a notebook name like '00_autograd'")
    try:
        return importlib.import_module(f"{__name__}.nb{notebook}")
    except ModuleNotFoundError:
        raise ValueError(f"no grading specs for notebook {notebook!r}") from None


def notebooks() -> list[str]:
    """Every notebook that has specs, in course order."""
    return sorted(info.name[2:] for info in pkgutil.iter_modules(__path__) if info.name.startswith("nb"))
