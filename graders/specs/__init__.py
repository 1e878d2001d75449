"""Per-notebook grading specs: graders/specs/nbNN_topic.py holds SPECS for notebook NN_topic."""

import importlib
import pkgutil
import re

from graders.grading import Spec

NOTEBOOK_NAME = re.compile(r"\d\d_[a-z0-9_]+")


def specs_for(notebook: str) -> dict[str, Spec]:
    """The specs of one notebook, e.g. specs_for("00_autograd")."""
    if not NOTEBOOK_NAME.fullmatch(notebook):
        raise ValueError(f"{notebook!r} is not a notebook name like '00_autograd'")
    try:
        module = importlib.import_module(f"{__name__}.nb{notebook}")
    except ModuleNotFoundError:
        raise ValueError(f"no grading specs for notebook {notebook!r}") from None
    return module.SPECS


def notebooks() -> list[str]:
    """Every notebook that has specs, in course order."""
    return sorted(info.name[2:] for info in pkgutil.iter_modules(__path__) if info.name.startswith("nb"))
