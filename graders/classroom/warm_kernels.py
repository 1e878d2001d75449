"""Warm kernels: a zygote per grading worker imports ipykernel, torch and the course once, then forks one
sandboxed kernel per submission.

The zygote runs as root, outside any sandbox, and never runs student code. For each kernel the kernel
spec's command (graders/classroom/kernel_relay.py) connects to the zygote's socket, named by
ZYGOTE_VARIABLE, with the connection file and the notebook's folder. The zygote checks them as the cold
launcher (graders.classroom.sandbox) does, makes the kernel's control group and forks; the fork waits
until the zygote has put it into that group, then unshares mount, PID, network, IPC,
UTS and cgroup namespaces, builds the same file system bubblewrap builds for a cold kernel (system and
Python read-only, the notebook's folder at WORKDIR and the sockets' folder read-write, a fresh /tmp and a
small /dev/shm) and pivots into it. Its child is PID 1 there: it mounts /proc, drops every capability and
becomes KERNEL_UID, reaps orphans, and forks the kernel, which sets the kernel's rlimits and runs
ipykernel. Nothing a kernel does reaches the zygote, so the next kernel starts from the same state.
The launcher relays the kernel's end: when the launcher dies, the zygote kills the fork and with it the
kernel's PID namespace.
"""

import contextlib
import ctypes
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graders.classroom import cgroups, sandbox, tether

# Set by the grading worker for nbgrader's kernel launchers: the zygote's socket.
ZYGOTE_VARIABLE = "GRADERS_ZYGOTE"
# What a kernel spends its first seconds importing: the zygote imports it once for all its kernels.
WARM_MODULES = (
    "numpy",
    "torch",
    "torch.optim",
    "torch._dynamo",  # the first optimizer imports it (about 0.9 s)
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",  # not the inline backend: its import hooks into the kernel's shell
    "tqdm",
    "tqdm.auto",
    "json_tricks",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "graders",
    "graders.core",
)
# The inline backend ipykernel selects: set before matplotlib is imported, so pyplot is ready for it.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# How long a worker waits for its zygote's imports.
START_SECONDS = 180.0
MESSAGE_BYTES = 1 << 16

_CLONE_NEWNS, _CLONE_NEWCGROUP, _CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
_CLONE_NEWIPC, _CLONE_NEWPID, _CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 4, 24, 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_CAPABILITY_VERSION_3 = 0x20080522
# Devices a kernel may open, bound from the host's /dev as bubblewrap's --dev does.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


class ZygoteUnavailable(RuntimeError):
    """No zygote can serve kernels here; the message says why, and kernels start cold."""


def unavailable() -> str:
    """Why this machine cannot fork warm kernels ('' when it can)."""
    if sys.platform != "linux" or os.uname().machine not in _SYS_PIVOT_ROOT:
        return f"warm kernels need Linux on {' or '.join(_SYS_PIVOT_ROOT)}"
    if os.geteuid() != 0:
        return "warm kernels need root (to build each kernel's namespaces and drop to its uid)"
    if cgroups.mechanism() == cgroups.SCOPE:
        return "warm kernels cannot join a systemd scope (cgroup v2) yet"
    return ""


# ---- the worker's side -----------------------------------------------------------------------------


class _Zygote:
    """This process's zygote: started on first use, ended with this process; or why it could not start."""

    lock = threading.Lock()
    process: subprocess.Popen | None = None
    socket: Path | None = None
    failed = ""


def kernel_environment() -> dict[str, str]:
    """The variables a grading worker gives nbgrader so its kernels fork from this process's zygote.

    Starts the zygote on first use (and again if it died); {} where none can run, so kernels start cold.
    """
    if unavailable():
        return {}
    with _Zygote.lock:
        if _Zygote.failed:  # tried once in this process: each submission would wait for it again
            return {}
        if _Zygote.process is None or _Zygote.process.poll() is not None:
            try:
                _Zygote.process, _Zygote.socket = _start()
            except ZygoteUnavailable as problem:
                print(f"graders: kernels start cold: {problem}", file=sys.stderr)
                _Zygote.process, _Zygote.socket, _Zygote.failed = None, None, str(problem)
                return {}
        return {ZYGOTE_VARIABLE: str(_Zygote.socket)}


def zygote_pid() -> int | None:
    """The process id of this process's running zygote, if any: a worker that ends its kernels by
    killing its children spares it (the zygote ends a kernel whose launcher was killed)."""
    process = _Zygote.process
    return process.pid if process is not None and process.poll() is None else None


def _start() -> tuple[subprocess.Popen, Path]:
    """Start a zygote tethered to a thread that lives as long as this process; its socket once ready."""
    state = Path(tempfile.mkdtemp(prefix="graders-zygote-"))
    started: dict[str, object] = {}
    ready = threading.Event()

    def keep() -> None:
        # PR_SET_PDEATHSIG fires when the starting thread ends: this one ends only with the process.
        command = [sys.executable, "-m", "graders.classroom.warm_kernels", "zygote", str(state)]
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MPLBACKEND": INLINE_BACKEND}
        environment["MPLCONFIGDIR"] = str(state / "matplotlib")
        try:
            process = subprocess.Popen(
                tether.tethered(command), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=environment
            )
        except OSError as error:
            started["error"] = error
            ready.set()
            shutil.rmtree(state, ignore_errors=True)
            return
        started["process"] = process
        started["line"] = process.stdout.readline().decode(errors="replace").strip()
        ready.set()
        process.wait()
        shutil.rmtree(state, ignore_errors=True)

    threading.Thread(target=keep, name="graders-zygote", daemon=True).start()
    if not ready.wait(START_SECONDS):
        raise ZygoteUnavailable(f"the zygote was not ready after {START_SECONDS:g} s")
    process = started.get("process")
    if not isinstance(process, subprocess.Popen):
        raise ZygoteUnavailable(f"the zygote could not start: {started.get('error')}")
    if started["line"] != "ready":
        process.kill()
        raise ZygoteUnavailable(f"the zygote refused to serve: {started['line'] or 'it ended'}")
    return process, state / "zygote.sock"


# ---- the zygote ------------------------------------------------------------------------------------


def zygote(state: Path) -> None:
    """Import the kernel's modules, then fork a sandboxed kernel for each launcher that connects."""
    for name in WARM_MODULES:
        __import__(name)
    # A Python thread would hold its locks forever in every fork. (OpenBLAS's native pool, started by
    # numpy, stops itself around fork; torch starts none until it computes, which the zygote never does.)
    if threading.active_count() > 1:
        print(
            f"{threading.active_count()} threads run after the imports: forking would be unsafe", flush=True
        )
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    os.chmod(state, 0o700)
    listener.bind(str(state / "zygote.sock"))
    listener.listen(64)
    (state / "root").mkdir()
    print("ready", flush=True)
    _serve(listener, state / "root")


@dataclass
class _Kernel:
    """A forked kernel, the launcher it answers to, its control group and where its bounds go."""

    pid: int
    pidfd: int
    launcher: socket.socket
    group: cgroups.Group | None
    record: dict[str, object]
    environment: dict[str, str]


def _serve(listener: socket.socket, base: Path) -> None:
    """One thread, one loop: accept launchers, fork kernels, report how each ended."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    kernels: dict[int, _Kernel] = {}
    while True:
        for key, _ in selector.select():
            if key.data is None:
                launcher, _ = listener.accept()
                try:
                    kernel = _start_kernel(launcher, listener, base, kernels)
                except OSError as error:  # no fork (EAGAIN, ENOMEM): this kernel starts cold
                    _answer(launcher, {"error": str(error)})
                    launcher.close()
                    continue
                if kernel is not None:
                    kernels[kernel.pid] = kernel
                    selector.register(launcher, selectors.EVENT_READ, ("launcher", kernel))
                    selector.register(kernel.pidfd, selectors.EVENT_READ, ("ended", kernel))
            elif key.data[0] == "launcher":  # it ended (jupyter_client killed it): so does its kernel
                kernel = key.data[1]
                selector.unregister(kernel.launcher)
                os.kill(kernel.pid, signal.SIGKILL)
            else:
                kernel = kernels.pop(key.data[1].pid)
                selector.unregister(kernel.pidfd)
                if kernel.launcher.fileno() in selector.get_map():
                    selector.unregister(kernel.launcher)
                _end_kernel(kernel)


def _answer(launcher: socket.socket, answer: dict[str, object]) -> None:
    """Send the launcher one JSON line, if it still listens."""
    with contextlib.suppress(OSError):
        launcher.sendall(json.dumps(answer).encode() + b"\n")


def _start_kernel(
    launcher: socket.socket, listener: socket.socket, base: Path, kernels: dict[int, _Kernel]
) -> _Kernel | None:
    """Read a launcher's request and fork its kernel in a control group; None when it is refused."""
    launcher_pid = struct.unpack("3i", launcher.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    fds: list[int] = []
    try:
        message, fds, _, _ = socket.recv_fds(launcher, MESSAGE_BYTES, 3)
        request = json.loads(message)
        if len(fds) != 3:
            raise ValueError("the request must carry the launcher's stdin, stdout and stderr")
        connection, workdir = Path(request["connection_file"]).resolve(), Path(request["workdir"]).resolve()
        sandbox.check_connection(connection)
        for folder in (workdir, connection.parent):
            sandbox.give_to_kernel(folder)
        memory, processes = int(request["memory_limit"]), sandbox.process_limit()
        way = cgroups.mechanism()
        group = cgroups.create_v1(f"kernel-{launcher_pid}", memory, processes) if way == cgroups.V1 else None
    except (OSError, ValueError, KeyError, sandbox.SandboxUnavailable) as error:
        for fd in fds:
            os.close(fd)
        _answer(launcher, {"error": str(error)})
        launcher.close()
        return None
    request |= {"connection_file": str(connection), "workdir": str(workdir)}
    wait, go = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go)
        listener.close()
        launcher.close()
        for other in kernels.values():
            other.launcher.close()
            os.close(other.pidfd)
        _child(lambda: _kernel_fork(request, fds, wait, base), fds[2])
    os.close(wait)
    for fd in fds:
        os.close(fd)
    try:
        if group:
            group.admit(pid)
        os.write(go, b"g")
    except OSError:
        pass  # the fork never went on: it ends, and the launcher hears so
    os.close(go)
    record = {"mechanism": way, "memory": memory, "processes": processes, "start": "warm"}
    return _Kernel(pid, os.pidfd_open(pid), launcher, group, record, request["environment"])


def _end_kernel(kernel: _Kernel) -> None:
    """Reap the fork, report the limits its kernel hit, remove its group, and tell the launcher."""
    _, status = os.waitpid(kernel.pid, 0)
    os.close(kernel.pidfd)
    hit = kernel.group.hits() if kernel.group else []
    try:
        sandbox.report_bounds(kernel.record | {"hit": hit}, kernel.environment)
    except OSError as error:
        print(f"graders zygote: the kernel's bounds could not be reported: {error}", file=sys.stderr)
    if kernel.group:
        kernel.group.remove()  # its PID namespace is gone with the fork: at once
    _answer(kernel.launcher, {"status": _exit_code(status)})
    kernel.launcher.close()


# ---- inside a fork: the sandbox, built by hand as bubblewrap builds it ------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
# A fork that fails before it became the kernel: what Python's own uncaught-exception exit code would be.
FAILED = 70


def _child(body: Callable[[], None], stderr: int) -> None:
    """Run a forked child's body and end the child, never returning into the zygote's loop."""
    try:
        body()
    except BaseException:
        with os.fdopen(os.dup(stderr), "w") as stream:
            traceback.print_exc(file=stream)
    finally:
        os._exit(FAILED)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    encoded = [value.encode() if value is not None else None for value in (source, target, kind, data)]
    _check(
        _libc.mount(encoded[0], encoded[1], encoded[2], ctypes.c_ulong(flags), encoded[3]), f"mount {target}"
    )


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _kernel_fork(request: dict, fds: list[int], wait: int, base: Path) -> None:
    """The fork: once in the kernel's control group, build its namespaces and start PID 1 there."""
    tether.die_with_parent()
    if os.read(wait, 1) != b"g":  # the zygote could not put it into the kernel's control group
        return
    os.close(wait)
    flags = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS | _CLONE_NEWCGROUP
    _check(_libc.unshare(flags), "unshare")
    connection = Path(request["connection_file"])
    _build_root(base, Path(request["workdir"]), connection.parent, sandbox.WORKDIR)
    init = os.fork()
    if init == 0:
        _child(lambda: _init(request, fds, connection, sandbox.WORKDIR), fds[2])
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(init, 0)
    os._exit(_exit_code(status))


def _build_root(base: Path, workdir: Path, runtime: Path, target: Path) -> None:
    """In a fresh mount namespace, make / the kernel's view: what bubblewrap shows a cold kernel."""
    # Resolved while the host's root is still /: /etc/localtime, for one, is a symlink into /usr.
    read_only = [*sandbox.SYSTEM_DIRS, *sandbox.SYSTEM_FILES, *map(str, sandbox.course_code())]
    binds = [(os.path.realpath(path), path, True) for path in read_only if os.path.exists(path)]
    binds += [(str(runtime), str(runtime), False), (str(workdir), str(target), False)]
    folders = {source for source, _, _ in binds if os.path.isdir(source)}
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount("tmpfs", str(base), "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755")
    os.chdir(base)
    os.mkdir("oldroot")
    os.mkdir("newroot")
    _mount("newroot", "newroot", None, _MS_BIND)
    _check(_libc.syscall(_SYS_PIVOT_ROOT[os.uname().machine], b".", b"oldroot"), "pivot_root")
    os.chdir("/")
    # /tmp first: the sockets' folder is bound inside it.
    for folder, size in (("/newroot/tmp", sandbox.TMP_SIZE_BYTES), ("/newroot/dev", None)):
        os.makedirs(folder, 0o755, exist_ok=True)
        options = f"mode={'1777' if size else '0755'}" + (f",size={size}" if size else "")
        _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV * bool(size), options)
    for device in DEVICES:
        Path(f"/newroot/dev/{device}").touch()
        _mount(f"/oldroot/dev/{device}", f"/newroot/dev/{device}", None, _MS_BIND)
    for name, points_to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(points_to, f"/newroot/dev/{name}")
    os.symlink("/proc/self/fd/1", "/newroot/dev/stdout")
    os.symlink("/proc/self/fd/2", "/newroot/dev/stderr")
    os.mkdir("/newroot/dev/shm")
    _mount(
        "tmpfs",
        "/newroot/dev/shm",
        "tmpfs",
        _MS_NOSUID | _MS_NODEV,
        f"mode=1777,size={sandbox.SHM_SIZE_BYTES}",
    )
    for source, destination, read_only in binds:
        inside = f"/newroot{destination}"
        if source in folders:
            os.makedirs(inside, 0o755, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(inside), 0o755, exist_ok=True)
            Path(inside).touch()
        _mount(f"/oldroot{source}", inside, None, _MS_BIND)
        protect = _MS_NOSUID | _MS_NODEV | (_MS_RDONLY if read_only else 0)
        _mount(None, inside, None, _MS_REMOUNT | _MS_BIND | protect)
    os.mkdir("/newroot/proc")
    _check(_libc.umount2(b"/oldroot", _MNT_DETACH), "umount /oldroot")
    os.chdir("/newroot")
    _check(_libc.syscall(_SYS_PIVOT_ROOT[os.uname().machine], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", _MNT_DETACH), "umount the old root")
    os.chdir("/")
    _mount(None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _init(request: dict, fds: list[int], connection: Path, workdir: Path) -> None:
    """PID 1 of the kernel's namespace: drop to KERNEL_UID, start the kernel, reap, end with it."""
    tether.die_with_parent()
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    os.setsid()  # no controlling terminal to push input into
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _drop_privileges()
    tether.die_with_parent()  # a change of uid cleared it
    # The kernel (same uid) may not read this process's memory or environment, as under bubblewrap.
    _prctl(_PR_SET_DUMPABLE, 0)
    kernel = os.fork()
    if kernel == 0:
        _child(lambda: _kernel(request, connection, workdir), 2)
    # A kernel's SIGINT (killpg(0), as an interrupt of a group leader would send) must not end PID 1 and
    # with it the kernel: the only signal this process would have taken from inside its namespace.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        pid, status = os.wait()
        if pid == kernel:
            os._exit(_exit_code(status))


def _exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal that ended the process."""
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _drop_privileges() -> None:
    """Become KERNEL_UID with no capability, none to regain (empty bounding set, no_new_privs)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _prctl(_PR_CAPBSET_DROP, capability)
    os.setgroups([])
    os.setresgid(sandbox.KERNEL_GID, sandbox.KERNEL_GID, sandbox.KERNEL_GID)
    os.setresuid(sandbox.KERNEL_UID, sandbox.KERNEL_UID, sandbox.KERNEL_UID)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def _kernel(request: dict, connection: Path, workdir: Path) -> None:
    """The kernel: its rlimits, environment and folder, then ipykernel on the connection file."""
    tether.die_with_parent()
    environment = sandbox.kernel_environment(request["environment"])
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(workdir)
    _as_a_cold_kernel_would()
    # A cold kernel's address-space cap covers the imports it makes; a warm one has made them already.
    sandbox.limit_resources(int(request["memory_limit"]) + _address_space())
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.executable, "-f", str(connection)]
    IPKernelApp.launch_instance(argv=["-f", str(connection)])
    os._exit(0)


def _address_space() -> int:
    """The bytes of address space this process maps (VmSize)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("/proc/self/status has no VmSize")


def _as_a_cold_kernel_would() -> None:
    """matplotlib read the zygote's environment when imported: read the kernel's (its config folder in
    its own /tmp, the backend nbgrader asked for or ipykernel's inline one)."""
    import matplotlib

    for cached in (matplotlib.get_configdir, matplotlib.get_cachedir):
        clear = getattr(cached, "cache_clear", None)
        if clear:
            clear()
    matplotlib.rcParams["backend"] = os.environ.get("MPLBACKEND", INLINE_BACKEND)


def main(argv: list[str]) -> None:
    """`python -m graders.classroom.warm_kernels zygote STATE_FOLDER`."""
    mode, *rest = argv
    if mode != "zygote":
        raise SystemExit(f"unknown mode {mode!r}")
    zygote(Path(rest[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
