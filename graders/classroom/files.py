"""What a student left, handled without trusting it: copied as regular files only, removed, measured.

Submission folders and the folders a kernel wrote to are untrusted: a symlink could point at the
reference answers, a named pipe blocks whoever opens it, a device never ends, a folder may be nested
thousands of levels deep or hold hundreds of thousands of files. Everything that is not a regular file or
folder, or is larger than FOLDER_FILE_MAX_BYTES, is skipped and named; the walks are iterative and stop at
the caps of graders.core.answer_limits, saying so.
"""

import contextlib
import itertools
import os
import re
import stat
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from graders.classroom.submission_limits import (
    FOLDER_FILE_MAX_BYTES,
    FOLDER_MAX_BYTES,
    FOLDER_MAX_DEPTH,
    FOLDER_MAX_FILES,
)

_CHUNK_BYTES = 2**20


class _Budget:
    """The files and bytes a copy may still take."""

    def __init__(self) -> None:
        self.files = FOLDER_MAX_FILES
        self.bytes = FOLDER_MAX_BYTES

    def refusal(self, size: int) -> str:
        """Why one more file of `size` bytes is not copied ('' when it is)."""
        if self.files <= 0:
            return f"more than {FOLDER_MAX_FILES:,} files"
        if size > self.bytes:
            return f"more than {FOLDER_MAX_BYTES // 2**20} MiB in all"
        return ""


def copy_untrusted_tree(
    source: Path,
    target: Path,
    leave_out: Callable[[str], bool] = lambda name: False,
    first: Collection[str] = (),
) -> list[str]:
    """Copy source into target (created); return a line for each entry skipped, relative to source.

    `first` names files of source's top level copied before anything else (the notebook, its answers),
    so a folder over the caps still keeps them.
    """
    try:
        top = _entries(source, first)
    except OSError as error:
        return [f"{printable(source.name)}/: unreadable folder ({error.strerror})"]
    target.mkdir(parents=True, exist_ok=True)
    budget = _Budget()
    skipped: list[str] = []
    # One frame per open folder: its copy, its printable prefix, its depth and the entries still to copy.
    stack: list[tuple[Path, str, int, Iterator[os.DirEntry[str]]]] = [(target, "", 1, iter(top))]
    while stack:
        copy, prefix, depth, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if leave_out(entry.name):
            continue
        name = prefix + printable(entry.name)
        try:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                if depth >= FOLDER_MAX_DEPTH:
                    skipped.append(f"{name}/: nested deeper than {FOLDER_MAX_DEPTH} folders, not copied")
                    continue
                children = _entries(Path(entry.path))
                (copy / entry.name).mkdir(exist_ok=True)
                stack.append((copy / entry.name, f"{name}/", depth + 1, iter(children)))
            elif stat.S_ISREG(mode):
                refusal = budget.refusal(entry.stat(follow_symlinks=False).st_size)
                if refusal:
                    skipped.append(f"{name} and everything after it: {refusal}, not copied")
                    return skipped
                problem = copy_regular_file(Path(entry.path), copy / entry.name)
                if problem:
                    skipped.append(f"{name}: {problem}")
                else:
                    budget.files -= 1
                    budget.bytes -= entry.stat(follow_symlinks=False).st_size
            else:
                skipped.append(f"{name}: {_kind(mode)}, not copied")
        except OSError as error:
            skipped.append(f"{name}: unreadable ({error.strerror})")
    return skipped


def prune_deep_folders(folder: Path) -> list[str]:
    """Remove each folder nested deeper than FOLDER_MAX_DEPTH in `folder`, never following a link; name each.

    nbgrader walks the folder a kernel leaves with os.walk, which recurses once per level.
    """
    pruned = []
    stack = [(folder, "", 1)]
    while stack:
        current, prefix, depth = stack.pop()
        try:
            entries = _entries(current)
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                if not entry.is_dir(follow_symlinks=False):
                    continue
                name = prefix + printable(entry.name)
                if depth < FOLDER_MAX_DEPTH:
                    stack.append((Path(entry.path), f"{name}/", depth + 1))
                    continue
                remove_tree(Path(entry.path))
                pruned.append(f"{name}/: nested deeper than {FOLDER_MAX_DEPTH} folders, removed")
    return sorted(pruned)


def _entries(folder: Path, first: Collection[str] = ()) -> list[os.DirEntry[str]]:
    """A folder's entries, `first` names first, then by name."""
    with os.scandir(folder) as listing:
        return sorted(listing, key=lambda entry: (entry.name not in first, entry.name))


def copy_regular_file(source: Path, target: Path) -> str:
    """Copy one file if it is regular and not too large; return why not, or ''."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        details = os.fstat(stream.fileno())
        if not stat.S_ISREG(details.st_mode):
            return f"{_kind(details.st_mode)}, not copied"
        if details.st_size > FOLDER_FILE_MAX_BYTES:
            limit = FOLDER_FILE_MAX_BYTES // 2**20
            return f"{details.st_size / 2**20:.0f} MiB, larger than {limit} MiB, not copied"
        with target.open("wb") as copy:
            while chunk := stream.read(_CHUNK_BYTES):
                copy.write(chunk)
    return ""


def remove_tree(folder: Path) -> None:
    """Remove a folder however deep, never following a link; what cannot be removed stays.

    Each subfolder is emptied into `folder` and removed, so paths stay two levels long and nothing recurses
    (shutil.rmtree recurses, and a kernel can nest folders past Python's recursion limit).
    """
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            folder.unlink()
            return
    except OSError:
        return
    fresh = (f".removing-{number}" for number in itertools.count())
    stuck: set[str] = set()
    while True:
        try:
            with os.scandir(folder) as listing:
                entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in listing]
        except OSError:
            return
        entries = [(name, is_folder) for name, is_folder in entries if name not in stuck]
        if not entries:
            break
        for name, is_folder in entries:
            try:
                if is_folder:
                    for child in os.listdir(folder / name):
                        moved = next(spare for spare in fresh if not os.path.lexists(folder / spare))
                        os.rename(folder / name / child, folder / moved)
                    os.rmdir(folder / name)
                else:
                    os.unlink(folder / name)
            except OSError:
                stuck.add(name)
    with contextlib.suppress(OSError):
        folder.rmdir()


# A JSON string (escapes removed first) and what is not a bracket: the depth scan needs only the brackets.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def json_depth(raw: bytes, limit: int) -> int:
    """How deeply the JSON text nests arrays and objects, counted up to limit + 1, without parsing it.

    json.loads and nbformat recurse once per level, so a deep document must be measured this way first.
    """
    brackets = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


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
