"""The sandbox a student's kernel runs in when the class is graded, and its limits.

nbgrader starts the kernel named KERNEL_NAME, whose spec runs `python -m graders.classroom.sandbox launch`:
outside
the sandbox, it checks the connection file, makes the kernel's control group (graders.classroom.cgroups:
memory
for all its processes together, a process limit), and runs bubblewrap (`bwrap`) in it, which runs
`python -m graders.classroom.sandbox kernel` in fresh namespaces, as an unprivileged uid when the grader is
root.
That caps address space and file size, then becomes ipykernel. When bwrap is done, the launcher writes
which limits the kernel hit to the file named by BOUNDS_VARIABLE. The kernel sees the Python environment
and the graders package read-only, its own notebook folder, a private /tmp and a small /dev/shm
writable, and nothing else: no reference answers, gradebook, other students, course or repository, no
network (it talks to nbgrader over Unix sockets), and its PID namespace dies with it, taking every
process it started along.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import graders
from graders.classroom import cgroups
from graders.classroom.tether import die_with_parent
from graders.core.instances import INSTANCE_VARIABLE
from graders.core.specs import cell_timeout_for

KERNEL_NAME = "graders-sandbox"
BWRAP = "bwrap"
SETPRIV = "setpriv"
INSTALL_HINT = "install Debian's bubblewrap (`apt-get install bubblewrap`), or grade with --no-sandbox"

# A course notebook needs well under 1 GiB (torch alone maps about 0.7 GiB); 4 GiB leaves room for a
# slow but honest solution while a cell that asks for tens of GB gets a MemoryError instead of the OOM killer.
MEMORY_LIMIT_BYTES = 4 * 2**30
# Answer files are a few hundred kB and plots live in the notebook: no honest cell writes a 256 MiB file,
# while a cell that tries to fill the disk gets "File too large" instead.
FILE_SIZE_LIMIT_BYTES = 256 * 2**20
# The private /tmp lives in memory: matplotlib's and IPython's caches need a few MB.
TMP_SIZE_BYTES = 256 * 2**20
# /dev/shm serves torch's and multiprocessing's shared tensors and locks: 64 MiB is plenty for the
# course, bwrap's default (half the host's memory) is not a bound.
SHM_SIZE_BYTES = 64 * 2**20
# Processes and threads per kernel (the cgroup's pids limit): ipykernel needs about ten, and every
# numerical library starts a thread per CPU (OpenBLAS, torch's two pools): a fork bomb stops here.
PROCESSES_PER_KERNEL = 64
THREADS_PER_CPU = 4
# The uid a kernel started by root runs as: nobody, which owns no file on a Debian system, so root-only
# files are unreadable to it and the kernel holds no privilege outside its sandbox.
KERNEL_UID = KERNEL_GID = 65534
# Set by the grader to a file outside the sandbox: the launcher appends the limits in force and hit.
BOUNDS_VARIABLE = "GRADERS_KERNEL_BOUNDS"
# What root keeps inside bwrap, just long enough for setpriv to become KERNEL_UID and drop them all.
ROOT_KEEPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")

# A cell that swallows KeyboardInterrupt cannot be interrupted, and every later cell then waits its
# full timeout: after this many cell timeouts the whole submission is stopped and reported.
SUBMISSION_TIMEOUT_CELLS = 4

# System folders a Python kernel needs (programs and shared libraries).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# The few /etc entries a kernel reads (user and host lookup, the loader's cache, time zone, fonts). The
# rest of /etc stays out: on a laptop the kernel keeps the instructor's uid, whose files it could read and
# print into the feedback a student gets back.
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
# (graders.core.instances: a number, not a secret); never a secret.
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
    # Sandboxed, the relay asks the worker's zygote for a warm kernel (graders.classroom.warm_kernels),
    # else becomes `python -m graders.classroom.sandbox launch`; it is run by path, to start fast.
    start = [sys.executable, "-m", "graders.classroom.sandbox", "unsandboxed"]
    if sandboxed:
        start = [sys.executable, "-I", str(Path(__file__).with_name("kernel_relay.py"))]
    spec = {
        "argv": [*start, str(memory_limit), "{connection_file}"],
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
    """Raise SandboxUnavailable unless bubblewrap is installed and can create namespaces here.

    Warn (UnboundedKernels) when kernels cannot get a control group here: grading goes on, weaker.
    """
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
    if os.geteuid() == 0 and shutil.which(SETPRIV) is None:
        raise SandboxUnavailable(f"root needs {SETPRIV} (util-linux) to run kernels as uid {KERNEL_UID}")
    if not cgroups.mechanism():
        warnings.warn(UnboundedKernels(UNBOUNDED), stacklevel=2)


class UnboundedKernels(UserWarning):
    """Kernels run without a control group here: memory is capped per process, processes not at all."""


UNBOUNDED = (
    "kernels get no control group here (no writable cgroup v1 memory and pids hierarchies, no systemd "
    "scope with memory and pids on cgroup v2): memory is capped per process only, and the number of "
    "processes not at all until the time limits end the kernel"
)


def process_limit() -> int:
    """The pids limit of one kernel's group on this machine."""
    return PROCESSES_PER_KERNEL + THREADS_PER_CPU * (os.cpu_count() or 1)


def bounds_line(warm: bool | None = None) -> str:
    """The report's line saying how kernels are bounded on this machine, or that they are not, and how
    they started: `warm` whether the workers forked them from zygotes (bounds records say "start"); by
    default, as grading workers do wherever a zygote can run."""
    uid = f"uid {KERNEL_UID}" if os.geteuid() == 0 else f"the grader's uid {os.geteuid()}"
    way = cgroups.mechanism()
    if not way:
        return f"limits:   WARNING: {UNBOUNDED}; kernels run as {uid}{start_clause(warm)}"
    return (
        f"limits:   each kernel in its own {way}: its memory limit for all its processes together, "
        f"{process_limit()} processes and threads, /dev/shm {SHM_SIZE_BYTES // 2**20} MiB, as {uid}"
        f"{start_clause(warm)}"
    )


def start_clause(warm: bool | None) -> str:
    """How kernels started: forked from their worker's zygote, or cold (and why, where none can run)."""
    from graders.classroom import warm_kernels  # it builds on this module

    why_not = warm_kernels.unavailable()
    if why_not:
        return f"; kernels start cold (a new Python each): {why_not}"
    if warm is False:
        return "; kernels start cold (a new Python each)"
    return "; kernels fork from their worker's zygote (graders.classroom.warm_kernels)"


def bwrap_arguments(workdir: Path, runtime: Path, readable: Iterable[Path]) -> list[str]:
    """bubblewrap's options for a kernel that may write only its notebook's folder, its sockets', /tmp
    and /dev/shm.

    The notebook's folder appears at WORKDIR, so the kernel learns nothing of the course's layout. Root
    needs no user namespace: it keeps just the capabilities to drop to KERNEL_UID (sandbox_command).
    """
    if os.geteuid() == 0:
        arguments = [f"--unshare-{name}" for name in ("ipc", "pid", "net", "uts", "cgroup-try")]
        arguments += ["--cap-drop", "ALL"] + [option for cap in ROOT_KEEPS for option in ("--cap-add", cap)]
    else:
        arguments = ["--unshare-all", "--cap-drop", "ALL"]
    arguments += ["--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    for size, folder in ((TMP_SIZE_BYTES, "/tmp"), (SHM_SIZE_BYTES, "/dev/shm")):
        arguments += ["--perms", "01777", "--size", str(size), "--tmpfs", folder]
    readable = list(readable)
    # bwrap makes a bind's missing parents private to root: made here first, they are traversable.
    made = {Path("/"), Path("/tmp"), *map(Path, SYSTEM_DIRS)}
    targets = [*map(Path, SYSTEM_FILES), *readable, runtime, WORKDIR]
    for parent in sorted({parent for path in targets for parent in path.parents} - made):
        arguments += ["--dir", str(parent)]
    for system_path in (*SYSTEM_DIRS, *SYSTEM_FILES):
        arguments += ["--ro-bind-try", system_path, system_path]
    for folder in readable:
        arguments += ["--ro-bind", str(folder), str(folder)]
    arguments += ["--bind", str(runtime), str(runtime), "--bind", str(workdir), str(WORKDIR)]
    arguments += ["--remount-ro", "/", "--chdir", str(WORKDIR), "--clearenv"]
    for name, value in kernel_environment(os.environ).items():
        arguments += ["--setenv", name, value]
    return arguments


def kernel_environment(launcher: Mapping[str, str]) -> dict[str, str]:
    """The kernel's whole environment: a home and PATH inside the sandbox, and PASSED_ENVIRONMENT."""
    environment = {"HOME": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    return environment | {name: launcher[name] for name in PASSED_ENVIRONMENT if name in launcher}


def sandbox_command(workdir: Path, runtime: Path, command: list[str]) -> list[str]:
    """bwrap running `command` in the sandbox: as KERNEL_UID, with no capability, when root starts it."""
    bwrap = shutil.which(BWRAP)
    if bwrap is None:
        raise SandboxUnavailable(f"{BWRAP} is not installed: {INSTALL_HINT}")
    drop = []
    if os.geteuid() == 0:
        drop = [SETPRIV, f"--reuid={KERNEL_UID}", f"--regid={KERNEL_GID}", "--clear-groups"]
        drop += ["--inh-caps=-all", "--bounding-set=-all", "--"]
    return [bwrap, *bwrap_arguments(workdir, runtime, course_code()), "--", *drop, *command]


def course_code() -> list[Path]:
    """What the kernel must read: the Python installation, this environment and the graders package."""
    return sorted({Path(sys.base_prefix), Path(sys.prefix), Path(graders.__file__).resolve().parent})


def launch(limit: str, connection_file: str) -> None:
    """Outside the sandbox: check that nbgrader talks over Unix sockets, then run bwrap with the kernel
    in a control group of its own, and exit as it did."""
    die_with_parent()
    connection = Path(connection_file).resolve()
    check_connection(connection)
    memory, processes = int(limit), process_limit()
    way = cgroups.SCOPE if cgroups.SCOPE_VARIABLE in os.environ else cgroups.mechanism()
    if way == cgroups.SCOPE and cgroups.SCOPE_VARIABLE not in os.environ:
        # systemd-run becomes this launcher again, inside a scope whose limits hold for all it starts.
        os.environ[cgroups.SCOPE_VARIABLE] = "1"
        this = [sys.executable, "-m", "graders.classroom.sandbox", "launch", limit, str(connection)]
        os.execvp("systemd-run", cgroups.scope_command(memory, processes, this))
    workdir = Path.cwd().resolve()
    if os.geteuid() == 0:
        for folder in (workdir, connection.parent):
            give_to_kernel(folder)
    kernel = [sys.executable, "-m", "graders.classroom.sandbox", "kernel", limit, "-f", str(connection)]
    command = sandbox_command(workdir, connection.parent, kernel)
    group = None
    if way == cgroups.V1:
        # bwrap inherits the group; the launcher leaves it, to read its counters and remove it at the end.
        group = cgroups.create_v1(f"kernel-{os.getpid()}", memory, processes)
        group.join()
    elif way == cgroups.SCOPE:
        group = cgroups.own_v2_group()
    bwrap = subprocess.Popen(command)
    if way == cgroups.V1:
        group.leave()
    # jupyter_client ends a kernel that ignores its shutdown request with SIGTERM: end bwrap, then report.
    signal.signal(signal.SIGTERM, lambda *_: bwrap.kill())
    status = bwrap.wait()
    hit = group.hits() if group else []
    # Reported first: jupyter_client may kill a launcher that takes long to remove its group.
    report_bounds({"mechanism": way, "memory": memory, "processes": processes, "hit": hit, "start": "cold"})
    if group and way == cgroups.V1:
        group.remove()
    sys.exit(status if status >= 0 else 128 - status)


def check_connection(connection: Path) -> None:
    """Refuse a connection file whose folder holds other files, or that asks for TCP: the kernel has no
    network, and sees that whole folder."""
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


def give_to_kernel(folder: Path) -> None:
    """Hand the folder and all in it to KERNEL_UID, so the kernel may write there and nowhere else."""
    os.chown(folder, KERNEL_UID, KERNEL_GID, follow_symlinks=False)
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            os.chown(os.path.join(parent, name), KERNEL_UID, KERNEL_GID, follow_symlinks=False)


def report_bounds(record: dict[str, object], environment: Mapping[str, str] = os.environ) -> None:
    """Append the kernel's bounds and the limits it hit to the file BOUNDS_VARIABLE names, if any."""
    target = environment.get(BOUNDS_VARIABLE)
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")


# What a row says when its kernel reached a limit of its control group.
LIMIT_FINDINGS = {
    "processes": "the kernel hit its process limit ({processes} processes and threads): a fork or thread "
    "was refused",
    "memory": "the kernel hit its memory limit ({memory_gib:g} GiB for all its processes together): the "
    "OOM killer stopped one of them",
}


def limits_hit(target: Path) -> tuple[str, ...]:
    """The findings for the limits the kernels reporting to `target` (a bounds file) hit, each once."""
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ()
    findings: dict[str, None] = {}
    for line in lines:
        record = json.loads(line)
        for name in record["hit"]:
            values = {"processes": record["processes"], "memory_gib": record["memory"] / 2**30}
            findings[LIMIT_FINDINGS[name].format(**values)] = None
    return tuple(findings)


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
    """`python -m graders.classroom.sandbox launch|unsandboxed LIMIT CONNECTION_FILE` or `kernel LIMIT -f
    FILE`."""
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
