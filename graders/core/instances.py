"""Problem instances: instance 0 is the public problem every student sees; the class grader may run a
notebook on another, hidden one, so that a grade comes from the student's own computation.

A notebook's locked setup cell asks `instance(NOTEBOOK)` and builds its data from it. The number is
no secret (the kernel may know it); the reference answers of a hidden instance never enter a kernel.
"""

import os
import zlib

import numpy as np

# The trusted grader sets this in the kernel's environment; a student's own Jupyter leaves it unset.
INSTANCE_VARIABLE = "GRADERS_INSTANCE"
PUBLIC_INSTANCE = 0
# Far above any pool an instructor would configure, low enough to be a plain, printable number.
LARGEST_INSTANCE = 10**6


def instance(notebook: str) -> int:
    """The instance this run of `notebook` solves: the grader's choice, else the public instance 0."""
    text = os.environ.get(INSTANCE_VARIABLE, "").strip()
    if not text:
        return PUBLIC_INSTANCE
    if not text.isdigit() or int(text) > LARGEST_INSTANCE:
        raise ValueError(
            f"{INSTANCE_VARIABLE}={text!r} is not an instance number from 0 to {LARGEST_INSTANCE} "
            f"(unset it to solve {notebook}'s public problem)"
        )
    return int(text)


def instance_generator(notebook: str, number: int) -> np.random.Generator:
    """Random numbers for one instance of one notebook: the same on every machine, run after run.

    Seeded by the notebook's name and the instance, so no two notebooks or instances share draws.
    """
    return np.random.default_rng([zlib.crc32(notebook.encode()), number])
