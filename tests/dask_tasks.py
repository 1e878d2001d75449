"""Small functions for Dask workers to run in tests/test_distributed.py.

They live apart from the tests so that a (re)started worker imports this module only, not the graders
package and nbgrader, which take seconds to import on a busy machine.
"""

import os
import time
from pathlib import Path

SECONDS_PER_ITEM = 1.0


def slow_double(started: Path, item: int) -> int:
    """Say which process started `item`, take a while, and return twice it."""
    (started / f"{item}.{os.getpid()}").touch()
    time.sleep(SECONDS_PER_ITEM)
    return 2 * item


def double_or_fail(item: int) -> int:
    """Twice `item`, except that 3 raises."""
    if item == 3:
        raise ValueError("item 3 is broken")
    return 2 * item
