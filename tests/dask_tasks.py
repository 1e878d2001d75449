"""Small functions for Dask workers to run in tests/test_distributed.py.

They live apart from the tests so that a (re)started worker imports this module only, not the graders
package and nbgrader, which take seconds to import on a busy machine.
"""

import os
import sys
import tempfile
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


# Every path this worker process opened or listed since watch_files began (graders.classroom.grading_worker
# must read nothing of the course).
SEEN: list[str] = []
WATCHED_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "sqlite3.connect", "shutil.copyfile"})


def watch_files() -> None:
    """From now on, note every file or folder this process opens, lists or connects to (an audit hook)."""

    def hook(event: str, arguments: tuple) -> None:
        if event in WATCHED_EVENTS and arguments and isinstance(arguments[0], (str, bytes, os.PathLike)):
            SEEN.append(os.path.abspath(os.fsdecode(arguments[0])))

    sys.addaudithook(hook)


def seen_files() -> list[str]:
    return list(SEEN)


def work_in_own_folder() -> str:
    """Move this worker into a fresh working folder of its own, as on another machine."""
    folder = tempfile.mkdtemp(prefix="dask-worker-")
    os.chdir(folder)
    return folder
