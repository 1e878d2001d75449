"""What a student leaves in a folder is copied as regular files only; everything else is named, never opened.

The class tests cover FIFOs, sockets, symlinks and huge files end to end; here each kind is copied on its
own, including device nodes and unreadable entries, which need root or a process without root's rights.
"""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graders.classroom.files import (
    copy_regular_file,
    copy_untrusted_tree,
    json_depth,
    prune_deep_folders,
    remove_tree,
)
from graders.classroom.submission_limits import FOLDER_FILE_MAX_BYTES, FOLDER_MAX_DEPTH, FOLDER_MAX_FILES


@pytest.fixture
def student_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "submitted"
    (folder / "plots").mkdir(parents=True)
    (folder / "00_autograd.answer.json").write_text('{"x_grad": 1}', encoding="utf-8")
    (folder / "plots" / "loss.png").write_bytes(b"\x89PNG")
    return folder


def test_regular_files_and_folders_are_copied_byte_for_byte(student_folder: Path, tmp_path: Path) -> None:
    assert copy_untrusted_tree(student_folder, tmp_path / "copy") == []
    assert (tmp_path / "copy" / "plots" / "loss.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "copy" / "00_autograd.answer.json").read_text(encoding="utf-8") == '{"x_grad": 1}'


def test_links_pipes_sockets_and_huge_files_are_named_not_followed(
    student_folder: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "reference.json"
    secret.write_text("the reference answers", encoding="utf-8")
    (student_folder / "plots" / "answers").symlink_to(secret)
    (student_folder / "to_folder").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(student_folder / "pipe")
    socket.socket(socket.AF_UNIX).bind(str(student_folder / "sock"))
    with (student_folder / "huge.bin").open("wb") as huge:
        huge.truncate(FOLDER_FILE_MAX_BYTES + 1)
    skipped = copy_untrusted_tree(student_folder, tmp_path / "copy")
    assert skipped == [
        "huge.bin: 50 MiB, larger than 50 MiB, not copied",
        "pipe: a named pipe, not copied",
        "plots/answers: a symbolic link, not copied",
        "sock: a socket, not copied",
        "to_folder: a symbolic link, not copied",
    ]
    copied = sorted(path.relative_to(tmp_path / "copy").as_posix() for path in (tmp_path / "copy").rglob("*"))
    assert copied == ["00_autograd.answer.json", "plots", "plots/loss.png"]


def test_a_device_node_is_named_and_never_read(student_folder: Path, tmp_path: Path) -> None:
    try:
        # /dev/zero's numbers: a copy that opened it would never end.
        os.mknod(student_folder / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("making a device node needs root (CAP_MKNOD)")
    assert copy_untrusted_tree(student_folder, tmp_path / "copy") == ["zero: a character device, not copied"]
    assert not (tmp_path / "copy" / "zero").exists()


def test_a_file_swapped_for_a_pipe_after_listing_is_not_opened_for_reading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert copy_regular_file(tmp_path / "pipe", tmp_path / "copy") == "a named pipe, not copied"
    assert not (tmp_path / "copy").exists()


def copy_without_root_rights(source: Path, target: Path) -> list[str]:
    """Copy as a process bound by file modes: root drops its capabilities (in bwrap), others run as is."""
    if os.geteuid() != 0:
        return copy_untrusted_tree(source, target)
    if shutil.which("bwrap") is None:
        pytest.skip("as root, an unreadable file needs bwrap to drop root's capabilities")
    script = (
        "import json, sys\nfrom pathlib import Path\n"
        "from graders.classroom.files import copy_untrusted_tree\n"
        "print(json.dumps(copy_untrusted_tree(Path(sys.argv[1]), Path(sys.argv[2]))))\n"
    )
    sandboxed = ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--cap-drop", "ALL", "--"]
    done = subprocess.run(
        [*sandboxed, sys.executable, "-c", script, str(source), str(target)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_unreadable_files_and_folders_are_named_and_the_rest_is_copied(
    student_folder: Path, tmp_path: Path
) -> None:
    (student_folder / "locked.txt").write_text("mine", encoding="utf-8")
    (student_folder / "locked").mkdir()
    (student_folder / "locked" / "inside.txt").write_text("mine", encoding="utf-8")
    for name in ("locked.txt", "locked"):
        (student_folder / name).chmod(0)
    try:
        skipped = copy_without_root_rights(student_folder, tmp_path / "copy")
    finally:
        for name in ("locked.txt", "locked"):
            (student_folder / name).chmod(0o700)
    assert skipped == ["locked: unreadable (Permission denied)", "locked.txt: unreadable (Permission denied)"]
    assert (tmp_path / "copy" / "plots" / "loss.png").read_bytes() == b"\x89PNG"


def test_an_unreadable_submission_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    assert copy_untrusted_tree(missing, tmp_path / "copy") == [
        "gone/: unreadable folder (No such file or directory)"
    ]


@pytest.fixture
def deep(tmp_path: Path) -> Iterator[Path]:
    """A folder for deep chains, removed after the test: pytest's own cleanup recurses and would fail."""
    yield tmp_path / "left"
    remove_tree(tmp_path / "left")


def make_deep(top: Path, levels: int) -> None:
    """A chain of `levels` folders under top, each made inside the last (full paths would pass PATH_MAX)."""
    top.mkdir(parents=True, exist_ok=True)
    folder = os.open(top, os.O_RDONLY)
    for _ in range(levels):
        os.mkdir("d", dir_fd=folder)
        inner = os.open("d", os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)


def test_a_folder_over_the_caps_keeps_the_notebook_and_names_the_cut(tmp_path: Path, deep: Path) -> None:
    source = deep
    (source / "aaa").mkdir(parents=True)
    for number in range(FOLDER_MAX_FILES + 5):
        (source / "aaa" / f"{number:05}").write_text("x", encoding="utf-8")
    (source / "zz.ipynb").write_text("{}", encoding="utf-8")
    make_deep(source / "deep", 1_100)
    skipped = copy_untrusted_tree(source, tmp_path / "copy", first={"zz.ipynb"})
    assert (tmp_path / "copy" / "zz.ipynb").is_file()
    assert len([path for path in (tmp_path / "copy").rglob("*") if path.is_file()]) == FOLDER_MAX_FILES
    assert skipped == [f"aaa/00999 and everything after it: more than {FOLDER_MAX_FILES:,} files, not copied"]
    (tmp_path / "copy2").mkdir()
    skipped = copy_untrusted_tree(source / "deep", tmp_path / "copy2")
    assert skipped == [
        "/".join(["d"] * FOLDER_MAX_DEPTH) + f"/: nested deeper than {FOLDER_MAX_DEPTH} folders, not copied"
    ]


def test_folders_of_any_depth_are_pruned_and_removed(tmp_path: Path, deep: Path) -> None:
    make_deep(tmp_path / "left" / "deep", 1_100)
    (tmp_path / "left" / "keep.txt").write_text("x", encoding="utf-8")
    pruned = prune_deep_folders(tmp_path / "left")
    assert pruned == [
        "/".join(["deep", *["d"] * (FOLDER_MAX_DEPTH - 1)])
        + f"/: nested deeper than {FOLDER_MAX_DEPTH} folders, removed"
    ]
    assert (tmp_path / "left" / "keep.txt").is_file()
    make_deep(tmp_path / "left" / "again", 1_100)
    remove_tree(tmp_path / "left")
    assert not (tmp_path / "left").exists()


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b"[" * 100_000 + b"]" * 100_000, 64) == 65
    assert json_depth(b'{"a": "[[[{{\\"[[", "b": [[1]]}', 64) == 3
