"""Warm kernels (issue 18 item 2): kernels forked one after another by the same zygote share nothing.

A hostile student leaves a background process, files in /tmp, /dev/shm and its folder, and monkeypatches
torch.optim.SGD, builtins and the course package; the next kernel the same zygote forks (an honest
student) sees none of it and its solution scores full. Each fork is as sandboxed as a cold kernel: no
network, no course, no other student's folder, no writable system. The bounds a cold kernel has (uid,
process and memory limits, /dev/shm) are tested warm and cold in test_kernel_bounds.py.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from grading_helpers import scores
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from test_kernel_bounds import Kernel, bounded_or_skip, warm_or_skip
from traitlets.config import Config

from graders.classroom import kernel_relay, warm_kernels
from graders.classroom.sandbox import (
    BOUNDS_VARIABLE,
    KERNEL_NAME,
    KERNEL_UID,
    PASSED_ENVIRONMENT,
    bounds_line,
    course_code,
    install_kernel_spec,
)
from graders.core.answer_files import answer_file
from graders.core.loader import load_answers
from graders.core.paths import REPO_ROOT, SOLUTIONS_DIR

# Every test here starts sandboxed kernels.
pytestmark = pytest.mark.slow

# In the hostile kernel's background process's command line: the test looks for it on the host.
MARKER = "graders-warm-kernel-leftover"


@pytest.fixture
def start_warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """start_warm(name) -> a running warm Kernel in a folder of its own; every kernel is stopped after."""
    bounded_or_skip()
    for name, value in warm_or_skip().items():
        monkeypatch.setenv(name, value)
    jupyter = tmp_path / "jupyter"
    install_kernel_spec(jupyter)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    started: list[tuple[Kernel, Path]] = []

    def start(name: str) -> Kernel:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
        monkeypatch.setenv(BOUNDS_VARIABLE, str(tmp_path / f"bounds-{name}.jsonl"))
        manager = KernelManager(
            kernel_name=KERNEL_NAME, transport="ipc", connection_file=str(runtime / "kernel.json")
        )
        manager.start_kernel(cwd=str(workdir))
        kernel = Kernel(manager, tmp_path / f"bounds-{name}.jsonl", workdir, "warm")
        started.append((kernel, runtime))
        return kernel

    yield start
    for kernel, runtime in started:
        if kernel.manager.has_kernel:
            kernel.manager.shutdown_kernel(now=True)
        shutil.rmtree(runtime, ignore_errors=True)


def host_processes_with(marker: str) -> list[str]:
    """The host's processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if entry.name.isdigit() and marker in command and str(os.getpid()) != entry.name:
            found.append(command)
    return found


HOSTILE = f"""
import builtins, os, signal, subprocess, sys, time
import torch, graders.core.grading
# A process that outlives the kernel, in a session of its own.
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', {MARKER!r}], start_new_session=True)
for folder in ('/tmp', '/dev/shm', '.'):
    with open(os.path.join(folder, 'left-behind'), 'w') as stream:
        stream.write('from the hostile student')
builtins.LEFT_BEHIND = True
torch.optim.SGD.step = lambda self, closure=None: None
graders.core.grading.grade_answers = lambda *arguments, **keywords: []
os.environ['LEFT_BEHIND'] = '1'
for target in ({str(Path(warm_kernels.__file__))!r}, sys.executable):
    try:
        open(target, 'a').close()
        print('wrote', target)
    except OSError as error:
        print('refused', type(error).__name__)
os.kill(1, signal.SIGINT)  # PID 1 of its namespace: ending it would end the kernel
time.sleep(0.5)
print('alive', len([name for name in os.listdir('/proc') if name.isdigit()]))
"""

HONEST_LOOKS = """
import builtins, os, torch, graders.core.grading
print('builtins', hasattr(builtins, 'LEFT_BEHIND'))
w = torch.nn.Parameter(torch.ones(1))
optimizer = torch.optim.SGD([w], lr=0.5)
(2 * w).sum().backward()
optimizer.step()
print('sgd', w.item())
print('grading', graders.core.grading.grade_answers.__module__)
print('environment', 'LEFT_BEHIND' in os.environ)
print('tmp', sorted(name for name in os.listdir('/tmp') if not name.startswith(('.', 'graders-kernel-'))))
print('shm', os.listdir('/dev/shm'), 'folder', os.listdir('.'))
print('processes', sorted(int(name) for name in os.listdir('/proc') if name.isdigit()))
"""


def test_the_next_kernel_sees_nothing_a_hostile_one_left_and_an_honest_solution_scores_full(
    start_warm,
) -> None:
    hostile = start_warm("mallory")
    printed = hostile.run(HOSTILE)
    assert "alive" in printed and "wrote" not in printed, printed
    assert printed.count("refused OSError") + printed.count("refused PermissionError") == 2, printed
    assert hostile.stop() == ()
    assert (hostile.workdir / "left-behind").is_file()  # its own folder is graded: that one stays
    assert host_processes_with(MARKER) == []  # its PID namespace died with it

    honest = start_warm("ada")
    looks = honest.run(HONEST_LOOKS)
    assert "builtins False" in looks and "sgd 0.0" in looks, looks
    assert "grading graders.core.grading" in looks and "environment False" in looks, looks
    # Under /tmp only the mount points of the course code it reads (a checkout in /tmp puts one there).
    code_in_tmp = sorted({path.parts[2] for path in course_code() if path.is_relative_to("/tmp")})
    assert f"tmp {code_in_tmp}" in looks and "shm [] folder []" in looks, looks
    # The kernel and ipykernel's own helpers only: no process of the hostile student.
    assert "processes [1, 2]" in looks, looks
    notebook = nbformat.read(SOLUTIONS_DIR / "02_torch_optim.ipynb", as_version=4)
    NotebookClient(notebook, km=honest.manager, timeout=120).execute()
    answers = load_answers(honest.workdir / answer_file("02_torch_optim"))
    assert set(scores("02_torch_optim", answers).values()) == {1.0}
    assert honest.stop() == ()


def test_a_warm_kernel_reaches_no_network_course_or_other_student_or_grader_s_variable(
    start_warm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADERS_TEST_SECRET", "graders-secret-of-the-grader")
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.1)
    other = start_warm("ada")
    other.run("open('mine.txt', 'w').write('ada')")
    kernel = start_warm("mallory")
    paths = [
        REPO_ROOT / "answers",
        REPO_ROOT / "nbgrader_config.py",
        SOLUTIONS_DIR,
        other.workdir,
        "/etc/shadow",
    ]
    printed = kernel.run(
        "import os, socket\n"
        f"for host in ('127.0.0.1', {socket.gethostname()!r}):\n"
        "    try:\n"
        f"        socket.create_connection((host, {server.getsockname()[1]}), timeout=3)\n"
        "        print('connected', host)\n"
        "    except OSError as error:\n"
        "        print('no network', type(error).__name__)\n"
        f"for path in {[str(path) for path in paths]!r}:\n"
        "    print('sees' if os.path.exists(path) else 'hidden', path)\n"
        "print('uid', os.getuid(), 'cwd', os.getcwd(), os.listdir('.'))\n"
        "import gc\n"  # the secret is looked for in every dict (the cell's own text holds it only in parts)
        "held = [value for each in gc.get_objects() if isinstance(each, dict) for value in each.values()]\n"
        # Dicts of strings only are not tracked by gc: look one level into the tracked ones.
        "held += [value for each in held if isinstance(each, dict) for value in each.values()]\n"
        "texts = [value for value in held if isinstance(value, str)]\n"
        "print('secret', any(''.join(['graders-secret-', 'of-the']) in text for text in texts))\n"
    )
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    assert "connected" not in printed and printed.count("no network") == 2, printed
    assert "sees" not in printed, printed
    assert f"uid {KERNEL_UID} cwd /home/student/work []" in printed, printed
    assert "secret False" in printed, printed
    assert kernel.stop() == () and other.stop() == ()


def test_the_relay_names_the_zygote_and_sends_it_only_the_kernel_s_variables() -> None:
    assert kernel_relay.ZYGOTE_VARIABLE == warm_kernels.ZYGOTE_VARIABLE
    assert set(kernel_relay.SENT_ENVIRONMENT) == {*PASSED_ENVIRONMENT, BOUNDS_VARIABLE}


def test_without_a_zygote_to_answer_the_kernel_starts_cold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounded_or_skip()
    install_kernel_spec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv(warm_kernels.ZYGOTE_VARIABLE, str(tmp_path / "no-zygote.sock"))
    monkeypatch.setenv(BOUNDS_VARIABLE, str(tmp_path / "bounds.jsonl"))
    runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
    manager = KernelManager(
        kernel_name=KERNEL_NAME, transport="ipc", connection_file=str(runtime / "kernel.json")
    )
    (tmp_path / "work").mkdir()
    manager.start_kernel(cwd=str(tmp_path / "work"))
    try:
        kernel = Kernel(manager, tmp_path / "bounds.jsonl", tmp_path / "work", "cold")
        assert "uid 65534" in kernel.run("import os\nprint('uid', os.getuid())")
        assert kernel.stop() == ()  # which also checks the kernel said it started cold
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
        shutil.rmtree(runtime, ignore_errors=True)


def test_a_worker_knows_its_zygote_to_spare_it() -> None:
    bounded_or_skip()
    warm_or_skip()
    pid = warm_kernels.zygote_pid()
    assert pid is not None
    assert b"warm_kernels\0zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_a_cell_past_its_timeout_is_interrupted_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounded_or_skip()
    for name, value in warm_or_skip().items():
        monkeypatch.setenv(name, value)
    install_kernel_spec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv(BOUNDS_VARIABLE, str(tmp_path / "bounds.jsonl"))
    runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
    (tmp_path / "work").mkdir()
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import time\ntime.sleep(120)"),
            nbformat.v4.new_code_cell("print('next cell ran')"),
        ]
    )
    # As nbgrader's Execute runs a notebook: its own kernel manager, which interrupts by message.
    transport = {"KernelManager": {"transport": "ipc", "connection_file": str(runtime / "kernel.json")}}
    try:
        NotebookClient(
            notebook,
            kernel_name=KERNEL_NAME,
            config=Config(transport),
            timeout=3,
            interrupt_on_timeout=True,
            allow_errors=True,
            resources={"metadata": {"path": str(tmp_path / "work")}},
        ).execute()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    assert notebook.cells[0].outputs[-1].ename == "KeyboardInterrupt", notebook.cells[0].outputs
    assert notebook.cells[1].outputs[0].text == "next cell ran\n"
    assert '"start": "warm"' in (tmp_path / "bounds.jsonl").read_text(encoding="utf-8")


def test_the_report_says_kernels_start_cold_and_why_where_no_zygote_can_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(warm_kernels, "unavailable", lambda: "warm kernels need root")
    assert bounds_line().endswith("; kernels start cold (a new Python each): warm kernels need root")
    monkeypatch.setattr(warm_kernels, "unavailable", lambda: "")
    warm = "; kernels fork from their worker's zygote (graders.classroom.warm_kernels)"
    assert bounds_line().endswith(warm)
    assert bounds_line(warm=False).endswith("; kernels start cold (a new Python each)")


def test_a_zygote_ends_with_the_worker_that_started_it(tmp_path: Path) -> None:
    bounded_or_skip()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from graders.classroom import warm_kernels\n"
            "print(warm_kernels.kernel_environment(), warm_kernels.zygote_pid(), flush=True)\n"
            "import time\ntime.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        started = worker.stdout.readline().split()
        assert warm_kernels.ZYGOTE_VARIABLE in started[0] and zygote_runs(int(started[-1])), started
    finally:
        worker.kill()  # as a worker killed by its Dask nanny, or a grader's kill -9
        worker.wait()
    deadline = time.monotonic() + 30
    while zygote_runs(int(started[-1])) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not zygote_runs(int(started[-1]))


def zygote_runs(pid: int) -> bool:
    """Process `pid` is a running zygote (not gone, nor a zombie, nor a reused pid)."""
    try:
        return b"warm_kernels\0zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
