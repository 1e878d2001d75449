"""Bounded kernels (issue 16): the real sandbox's kernel runs as an unprivileged uid in a control group of
its own, so a fork bomb, several processes together and /dev/shm stop at their limits, the limit hit is
reported for the row, and an honest notebook still runs.

Each test starts the grading kernel spec as nbgrader does, twice: cold (`python -m graders.classroom.sandbox
launch` and bubblewrap) and warm (forked by this process's zygote, graders.classroom.warm_kernels); talks to
the kernel with jupyter_client, shuts it down, and reads what was reported.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from graders.classroom import cgroups, warm_kernels
from graders.classroom.sandbox import (
    BOUNDS_VARIABLE,
    KERNEL_NAME,
    KERNEL_UID,
    SHM_SIZE_BYTES,
    SandboxUnavailable,
    UnboundedKernels,
    bounds_line,
    install_kernel_spec,
    limits_hit,
    process_limit,
    require_sandbox,
)

# Every test here starts sandboxed kernels.
pytestmark = pytest.mark.slow

# Enough for ipykernel and one child of 600 MiB (each under its own address-space limit), not for two.
MEMORY = 1024 * 2**20
CHILD_MIB = 600


def bounded_or_skip() -> None:
    """Skip, naming what is missing, where kernels cannot be bounded; in CI that is a failure."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (to run kernels as another uid)")
    if shutil.which("bwrap") is None:
        missing.append("bubblewrap (`make sandbox-tool`)")
    if not cgroups.mechanism():
        missing.append("a writable cgroup v1 memory and pids hierarchy, or a systemd scope on cgroup v2")
    if missing:
        reason = "bounded kernels need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass
class Kernel:
    """A grading kernel started as nbgrader starts it, and the file its launcher reports to."""

    manager: KernelManager
    bounds: Path
    workdir: Path
    start: str

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute code; what it printed (stdout, stderr and any error's name and message)."""
        printed: list[str] = []

        def collect(message: dict) -> None:
            content = message["content"]
            if message["msg_type"] == "stream":
                printed.append(content["text"])
            elif message["msg_type"] == "error":
                printed.append(f"{content['ename']}: {content['evalue']}\n")

        client = self.manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            client.execute_interactive(code, timeout=timeout, output_hook=collect)
        finally:
            client.stop_channels()
        return "".join(printed)

    def stop(self) -> tuple[str, ...]:
        """Shut the kernel down; the findings its launcher reported for the row."""
        self.manager.shutdown_kernel(now=False)
        records = [json.loads(line) for line in self.bounds.read_text(encoding="utf-8").splitlines()]
        assert [record["start"] for record in records] == [self.start]
        return limits_hit(self.bounds)


def warm_or_skip() -> dict[str, str]:
    """The variables that have kernels forked by this process's zygote; skip (fail in CI) without one."""
    environment = warm_kernels.kernel_environment()
    if not environment:
        reason = f"no zygote: {warm_kernels.unavailable() or 'it did not start (see stderr)'}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return environment


@pytest.fixture(params=["cold", "warm"])
def start_kernel(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """start_kernel(memory) -> a running Kernel with that memory limit, started cold or warm; every kernel
    is stopped after."""
    bounded_or_skip()
    monkeypatch.delenv(warm_kernels.ZYGOTE_VARIABLE, raising=False)
    if request.param == "warm":
        for name, value in warm_or_skip().items():
            monkeypatch.setenv(name, value)
    started: list[Kernel] = []
    runtimes: list[Path] = []

    def start(memory: int = MEMORY) -> Kernel:
        jupyter, workdir = tmp_path / f"jupyter-{len(started)}", tmp_path / f"work-{len(started)}"
        workdir.mkdir()
        install_kernel_spec(jupyter, memory)
        # A short folder of its own for the kernel's sockets, as graders.classroom.autograde makes one.
        runtime = Path(tempfile.mkdtemp(prefix="graders-kernel-"))
        runtimes.append(runtime)
        monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
        monkeypatch.setenv(BOUNDS_VARIABLE, str(tmp_path / f"bounds-{len(started)}.jsonl"))
        manager = KernelManager(
            kernel_name=KERNEL_NAME, transport="ipc", connection_file=str(runtime / "kernel.json")
        )
        manager.start_kernel(cwd=str(workdir))
        kernel = Kernel(manager, tmp_path / f"bounds-{len(started)}.jsonl", workdir, request.param)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        if kernel.manager.has_kernel:
            kernel.manager.shutdown_kernel(now=True)
    for runtime in runtimes:
        shutil.rmtree(runtime, ignore_errors=True)


def test_the_kernel_is_not_root_and_reads_no_root_only_file(start_kernel) -> None:
    kernel = start_kernel()
    printed = kernel.run(
        "import os\n"
        "print('uid', os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
        "for path in ['/etc/shadow', '/proc/1/environ']:\n"
        "    try:\n"
        "        open(path, 'rb').read()\n"
        "        print('read', path)\n"
        "    except OSError as error:\n"
        "        print('refused', path, type(error).__name__)\n"
        "try:\n"
        "    os.setuid(0)\n"
        "except OSError as error:\n"
        "    print('setuid refused', type(error).__name__)\n"
        "open('written.txt', 'w').write('mine')\n"
    )
    assert f"uid {KERNEL_UID} {KERNEL_UID} {KERNEL_UID} []" in printed, printed
    assert "refused /etc/shadow" in printed
    assert "refused /proc/1/environ PermissionError" in printed  # bwrap's init there runs as root
    assert "setuid refused PermissionError" in printed
    assert "read " not in printed
    assert (kernel.workdir / "written.txt").stat().st_uid == KERNEL_UID
    assert kernel.stop() == ()


def test_a_fork_bomb_stops_at_the_process_limit_and_is_reported(start_kernel) -> None:
    kernel = start_kernel()
    printed = kernel.run(
        "import os, time\n"
        "me, refused = os.getpid(), 0\n"
        "for _ in range(12):\n"  # up to 4096 processes, each forking as long as it can
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        refused += 1\n"
        "if os.getpid() != me:\n"
        "    time.sleep(3)\n"
        "    os._exit(0)\n"
        "print('processes', sum(name.isdigit() for name in os.listdir('/proc')))\n"
        "while True:\n"
        "    try:\n"
        "        os.wait()\n"
        "    except ChildProcessError:\n"
        "        break\n"
        "print('alive')\n",
        timeout=120,
    )
    assert "alive" in printed, printed
    alive = int(printed.split("processes ")[1].split()[0])
    assert alive <= process_limit(), printed
    assert kernel.stop() == (
        f"the kernel hit its process limit ({process_limit()} processes and threads): "
        "a fork or thread was refused",
    )


def test_two_children_together_cannot_exceed_the_memory_limit(start_kernel) -> None:
    kernel = start_kernel()
    hog = f"import time\nblock = b'x' * ({CHILD_MIB} * 2**20)\ntime.sleep(5)\n"
    printed = kernel.run(
        "import subprocess, sys\n"
        f"children = [subprocess.Popen([sys.executable, '-c', {hog!r}]) for _ in range(2)]\n"
        "print('killed', sorted(child.wait() == -9 for child in children))\n",
        timeout=120,
    )
    assert "killed [False, True]" in printed or "killed [True, True]" in printed, printed
    assert kernel.stop() == (
        f"the kernel hit its memory limit ({MEMORY / 2**30:g} GiB for all its processes together): "
        "the OOM killer stopped one of them",
    )


def test_dev_shm_is_a_small_capped_folder(start_kernel) -> None:
    kernel = start_kernel()
    printed = kernel.run(
        "import errno\n"
        "try:\n"
        "    with open('/dev/shm/fill', 'wb') as stream:\n"
        f"        for _ in range({2 * SHM_SIZE_BYTES // 2**20}):\n"
        "            stream.write(b'x' * 2**20)\n"
        "except OSError as error:\n"
        "    print('refused', errno.errorcode[error.errno])\n"
    )
    assert "refused ENOSPC" in printed, printed
    assert kernel.stop() == ()


def test_an_honest_notebook_runs_within_the_bounds(start_kernel) -> None:
    kernel = start_kernel(memory=4 * 2**30)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import torch, numpy, matplotlib.pyplot as plt\n"
                "w = torch.zeros(3, requires_grad=True)\n"
                "x, y = torch.randn(256, 3), torch.randn(256)\n"
                "for _ in range(50):\n"
                "    loss = ((x @ w - y) ** 2).mean()\n"
                "    loss.backward()\n"
                "    with torch.no_grad():\n"
                "        w -= 0.1 * w.grad\n"
                "        w.grad.zero_()\n"
                "plt.plot(numpy.arange(3), w.detach().numpy())\n"
                "plt.show()\n"
                "with open('answer.json', 'w') as stream:\n"
                "    stream.write(str(loss.detach().item()))\n"
            )
        ]
    )
    NotebookClient(notebook, km=kernel.manager, timeout=120).execute()
    outputs = notebook.cells[0].outputs
    assert [output.output_type for output in outputs] == ["display_data"], outputs
    assert "image/png" in outputs[0].data
    assert float((kernel.workdir / "answer.json").read_text()) >= 0
    assert kernel.stop() == ()


def test_the_report_says_how_kernels_are_bounded_here() -> None:
    bounded_or_skip()
    line = bounds_line()
    assert f"each kernel in its own {cgroups.mechanism()}" in line
    assert f"{process_limit()} processes and threads" in line and f"as uid {KERNEL_UID}" in line


def test_without_a_control_group_grading_warns_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "mechanism", lambda: "")
    assert bounds_line().startswith("limits:   WARNING: kernels get no control group here")
    try:
        with pytest.warns(UnboundedKernels, match="the number of processes not at all"):
            require_sandbox()
    except SandboxUnavailable as missing:  # no bubblewrap: grading stops before any kernel runs
        pytest.skip(str(missing))
