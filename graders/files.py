"""Copy what a student left without following it anywhere: regular files and folders only.

Submission folders and the folders a kernel wrote to are untrusted: a symlink could point at the
reference answers, a named pipe blocks whoever opens it, a device never ends. Everything that is not a
regular file or folder, or is larger than MAX_FILE_BYTES, is skipped and named.
"""

import os
import stat
from collections.abc import Callable
from pathlib import Path

# A notebook with its plots is a few MB and an answer file far less; 50 MiB keeps a generous margin
# while a student cannot make the grader copy gigabytes.
MAX_FILE_BYTES = 50 * 2**20
_CHUNK_BYTES = 2**20


def copy_untrusted_tree(
    source: Path, target: Path, leave_out: Callable[[str], bool] = lambda name: False
) -> list[str]:
    """Copy source into target (created); return a line for each entry skipped, relative to source."""
    try:
        return _copy_folder(source, target, leave_out)
    except OSError as error:
        return [f"{printable(source.name)}/: unreadable folder ({error.strerror})"]


def _copy_folder(source: Path, target: Path, leave_out: Callable[[str], bool]) -> list[str]:
    """copy_untrusted_tree's walk; raises OSError only when source itself cannot be listed."""
    target.mkdir(parents=True, exist_ok=True)
    skipped = []
    for entry in sorted(os.scandir(source), key=lambda entry: entry.name):
        name = printable(entry.name)
        if leave_out(entry.name):
            continue
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                skipped += [
                    f"{name}/{line}"
                    for line in _copy_folder(Path(entry.path), target / entry.name, leave_out)
                ]
            elif stat.S_ISREG(mode):
                problem = copy_regular_file(Path(entry.path), target / entry.name)
                skipped += [f"{name}: {problem}"] if problem else []
            else:
                skipped.append(f"{name}: {_kind(mode)}, not copied")
        except OSError as error:
            skipped.append(f"{name}: unreadable ({error.strerror})")
    return skipped


def copy_regular_file(source: Path, target: Path) -> str:
    """Copy one file if it is regular and not too large; return why not, or ''."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        details = os.fstat(stream.fileno())
        if not stat.S_ISREG(details.st_mode):
            return f"{_kind(details.st_mode)}, not copied"
        if details.st_size > MAX_FILE_BYTES:
            return f"{details.st_size / 2**20:.0f} MiB, larger than {MAX_FILE_BYTES // 2**20} MiB, not copied"
        with target.open("wb") as copy:
            while chunk := stream.read(_CHUNK_BYTES):
                copy.write(chunk)
    return ""


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISLNK: "a symbolic link",
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((label for test, label in kinds.items() if test(mode)), "a special file")


def printable(name: str) -> str:
    """A name a student chose (a file's, an id) as one report line can show it: repr's escapes, unquoted."""
    return repr(name)[1:-1]
