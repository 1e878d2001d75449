"""The sandbox a student's kernel runs in when the class is graded, and its limits.

nbgrader starts the kernel named KERNEL_NAME, whose spec runs `python -m graders.sandbox launch`: outside
the sandbox, it checks the connection file and execs bubblewrap (`bwrap`), which runs
`python -m graders.sandbox kernel` in fresh namespaces. That caps memory and file size, then becomes
ipykernel. The kernel sees the Python environment and the graders package read-only, its own notebook
folder and a private /tmp writable, and nothing else: no reference answers, gradebook, other students,
course or repository, no network (it talks to nbgrader over Unix sockets), and its PID namespace dies
with it, taking every process it started along.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import graders
from graders.instances import INSTANCE_VARIABLE
from graders.specs import cell_timeout_for
from graders.tether import die_with_parent

KERNEL_NAME = "graders-sandbox"
BWRAP = "bwrap"
INSTALL_HINT = "install Debian's bubblewrap (`apt-get install bubblewrap`), or grade with --no-sandbox"

# A course notebook needs well under 1 GiB (torch alone maps about 0.7 GiB); 4 GiB leaves room for a
# slow but honest solution while a cell that asks for tens of GB gets a MemoryError instead of the OOM killer.
MEMORY_LIMIT_BYTES = 4 * 2**30
# Answer files are a few hundred kB and plots live in the notebook: no honest cell writes a 256 MiB file,
# while a cell that tries to fill the disk gets "File too large" instead.
FILE_SIZE_LIMIT_BYTES = 256 * 2**20
# The private /tmp lives in memory: matplotlib's and IPython's caches need a few MB.
TMP_SIZE_BYTES = 256 * 2**20

# A cell that swallows KeyboardInterrupt cannot be interrupted, and every later cell then waits its
# full timeout: after this many cell timeouts the whole submission is stopped and reported.
SUBMISSION_TIMEOUT_CELLS = 4

# System folders a Python kernel needs (programs and shared libraries).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# The few /etc entries a kernel reads (user and host lookup, the loader's cache, time zone, fonts). The
# rest of /etc stays out: the kernel runs as root's uid, so /etc/shadow or a host key would be readable,
# and a cell could print it into the feedback a student gets back.
SYSTEM_FILES = (
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/os-release",
    "/etc/mime.types",
    "/etc/fonts",
)
# Where the kernel finds its notebook's folder, whatever the course's path.
WORKDIR = Path("/home/student/work")
# The only variables the kernel inherits: nbgrader's marker, locale, plotting and the problem instance
# (graders.instances: a number, not a secret); never a secret.
PASSED_ENVIRONMENT = ("NBGRADER_EXECUTION", "LANG", "LC_ALL", "TZ", "MPLBACKEND", INSTANCE_VARIABLE)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says what to install."""


@dataclass(frozen=True)
class Limits:
    """How long and how much memory one student's notebook may take."""

    cell_timeout: int | None = None
    memory_limit: int = MEMORY_LIMIT_BYTES
    sandboxed: bool = True

    def cell_seconds(self, notebook: str) -> int:
        return self.cell_timeout or cell_timeout_for(notebook)

    def submission_seconds(self, notebook: str) -> int:
        return self.cell_seconds(notebook) * SUBMISSION_TIMEOUT_CELLS


def install_kernel_spec(
    jupyter_dir: Path, memory_limit: int = MEMORY_LIMIT_BYTES, sandboxed: bool = True
) -> Path:
    """Write the grading kernel spec under jupyter_dir/kernels, for a JUPYTER_PATH of jupyter_dir only."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    mode = "launch" if sandboxed else "unsandboxed"
    spec = {
        "argv": [sys.executable, "-m", "graders.sandbox", mode, str(memory_limit), "{connection_file}"],
        "display_name": f"Python 3 (graders {'sandbox' if sandboxed else 'NO sandbox'}, "
        f"{memory_limit / 2**30:g} GiB)",
        "language": "python",
        # The kernel runs in its own session, out of reach of a process-group signal: interrupt by message.
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return spec_dir


def require_sandbox() -> None:
    """Raise SandboxUnavailable unless bubblewrap is installed and can create namespaces here."""
    if shutil.which(BWRAP) is None:
        raise SandboxUnavailable(f"the grading sandbox needs {BWRAP}, which is not installed: {INSTALL_HINT}")
    probe = subprocess.run(
        [BWRAP, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(
            f"{BWRAP} is installed but cannot create a sandbox here ({probe.stderr.strip()}): "
            "run as root or allow unprivileged user namespaces, or grade with --no-sandbox"
        )


def bwrap_arguments(workdir: Path, runtime: Path, readable: Iterable[Path]) -> list[str]:
    """bubblewrap's options for a kernel that may write only its notebook's folder, its sockets' and /tmp.

    The notebook's folder appears at WORKDIR, so the kernel learns nothing of the course's layout.
    """
    arguments = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    arguments += ["--size", str(TMP_SIZE_BYTES), "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]
    for system_path in (*SYSTEM_DIRS, *SYSTEM_FILES):
        arguments += ["--ro-bind-try", system_path, system_path]
    for folder in readable:
        arguments += ["--ro-bind", str(folder), str(folder)]
    arguments += ["--bind", str(runtime), str(runtime), "--bind", str(workdir), str(WORKDIR)]
    arguments += ["--remount-ro", "/", "--chdir", str(WORKDIR), "--clearenv"]
    environment = {"HOME": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    environment |= {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    for name, value in environment.items():
        arguments += ["--setenv", name, value]
    return arguments


def course_code() -> list[Path]:
    """What the kernel must read: the Python installation, this environment and the graders package."""
    return sorted({Path(sys.base_prefix), Path(sys.prefix), Path(graders.__file__).resolve().parent})


def launch(limit: str, connection_file: str) -> None:
    """Outside the sandbox: check that nbgrader talks over Unix sockets, then exec bwrap with the kernel."""
    connection = Path(connection_file).resolve()
    strangers = sorted(
        path.name for path in connection.parent.iterdir() if not path.name.startswith(connection.stem)
    )
    if strangers:
        raise SandboxUnavailable(
            f"{connection.parent} holds other files ({', '.join(strangers[:3])}): the kernel would see them; "
            "give each kernel its own JUPYTER_RUNTIME_DIR"
        )
    transport = json.loads(connection.read_text(encoding="utf-8")).get("transport")
    if transport != "ipc":
        raise SandboxUnavailable(
            f"the sandboxed kernel has no network, so it needs ipc transport, not {transport!r}: "
            "run nbgrader with --KernelManager.transport=ipc"
        )
    kernel = [sys.executable, "-m", "graders.sandbox", "kernel", limit, "-f", str(connection)]
    options = bwrap_arguments(Path.cwd().resolve(), connection.parent, course_code())
    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        raise SandboxUnavailable(f"{BWRAP} is not installed: {INSTALL_HINT}")
    os.execv(bwrap, [bwrap, *options, "--", *kernel])


def limit_resources(memory_limit: int) -> None:
    """Cap address space and file size: a large allocation or write fails inside the cell that asked."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, FILE_SIZE_LIMIT_BYTES))


def kernel(limit: str, kernel_arguments: list[str]) -> None:
    """Become ipykernel under the resource limits (inside the sandbox, or unsandboxed on request)."""
    limit_resources(int(limit))
    die_with_parent()
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_arguments])


def main(argv: list[str]) -> None:
    """`python -m graders.sandbox launch|unsandboxed LIMIT CONNECTION_FILE` or `kernel LIMIT -f FILE`."""
    mode, limit, *rest = argv
    if mode == "launch":
        launch(limit, rest[0])
    elif mode == "unsandboxed":
        kernel(limit, ["-f", rest[0]])
    elif mode == "kernel":
        kernel(limit, rest)
    else:
        raise SystemExit(f"unknown sandbox mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
