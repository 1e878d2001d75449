"""Where the course keeps its files; GRADERS_ANSWERS_DIR points grading at a private copy of answers/."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS_DIR = REPO_ROOT / "solutions"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


# The public instance's reference answers as the installed package carries them (a link to answers/ in
# the repository, copied into the wheel), so a self-learner's checks work without the repository.
PACKAGED_ANSWERS = Path(__file__).resolve().parents[1] / "public_answers"


def answers_dir() -> Path:
    """The reference answers: the course's answers/ (or the installed package's copy of it) unless an
    instructor keeps them elsewhere (GRADERS_ANSWERS_DIR)."""
    if "GRADERS_ANSWERS_DIR" in os.environ:
        return Path(os.environ["GRADERS_ANSWERS_DIR"])
    course = REPO_ROOT / "answers"
    return course if course.is_dir() else PACKAGED_ANSWERS
