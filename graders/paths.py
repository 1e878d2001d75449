"""Where the course keeps its files; GRADERS_ANSWERS_DIR points grading at a private copy of answers/."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS_DIR = REPO_ROOT / "solutions"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def answers_dir() -> Path:
    """The reference answers: the course's answers/ unless an instructor keeps them elsewhere."""
    return Path(os.environ.get("GRADERS_ANSWERS_DIR", REPO_ROOT / "answers"))
