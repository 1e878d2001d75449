"""One control group per kernel: a memory limit for all its processes together, and a process limit.

cgroup v1 (separate `memory` and `pids` hierarchies, writable by root, as on the course's CI machine):
a group of our own under the grader's group in each. cgroup v2 (most instructors' machines): a transient
systemd scope, `systemd-run --scope` as root or `--user --scope` where systemd delegates memory and pids.
A group's counters say afterwards whether a limit was hit.
"""

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

V1_CONTROLLERS = ("memory", "pids")
# Our groups live in this folder under the grader's own group, so one listing finds those left behind.
GROUP_FOLDER = "graders"
V2_ROOT = Path("/sys/fs/cgroup")
# Set in a launcher that systemd-run already put into a scope of its own.
SCOPE_VARIABLE = "GRADERS_KERNEL_SCOPE"
V1, SCOPE = "cgroup v1", "systemd scope (cgroup v2)"
# How long a finished kernel's processes may take to leave its group before it is left for a later run.
REMOVAL_SECONDS = 5.0


@dataclass(frozen=True)
class Group:
    """A kernel's control group: one folder per hierarchy (v1: memory and pids; v2: one)."""

    folders: tuple[Path, ...]

    def hits(self) -> list[str]:
        """The limits the group reached: 'processes' (a fork was refused), 'memory' (the OOM killer ran)."""
        hit = []
        if any(_counters(folder / "pids.events").get("max", 0) for folder in self.folders):
            hit.append("processes")
        oom_kills = (
            _counters(folder / name).get("oom_kill", 0)
            for folder in self.folders
            for name in ("memory.oom_control", "memory.events")
        )
        if any(oom_kills):
            hit.append("memory")
        return hit

    def join(self) -> None:
        """Move the calling process into the group (v1: into each hierarchy's folder)."""
        self.admit(os.getpid())

    def admit(self, pid: int) -> None:
        """Move process `pid` into the group: what it starts from then on starts inside it."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid), encoding="ascii")

    def leave(self) -> None:
        """Move the calling process back to the v1 groups it came from (those holding GROUP_FOLDER)."""
        for folder in self.folders:
            (folder.parent.parent / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    def remove(self) -> None:
        """Remove the v1 folders once the kernel's processes are gone (a scope is systemd's to remove)."""
        deadline = time.monotonic() + REMOVAL_SECONDS
        for folder in self.folders:
            while folder.is_dir() and not _remove_empty(folder) and time.monotonic() < deadline:
                time.sleep(0.05)
            _remove_empty(folder.parent)


def _counters(path: Path) -> dict[str, int]:
    """A cgroup file of `name number` lines as a dict ({} where the file is missing)."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except OSError:
        return {}
    return {name: int(value) for name, _, value in (line.partition(" ") for line in lines) if value.isdigit()}


def _remove_empty(folder: Path) -> bool:
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:  # processes still in it, or (for GROUP_FOLDER) another kernel's group
        return False
    return True


def v1_homes() -> dict[str, Path]:
    """The folder of this process's own group in each v1 hierarchy of V1_CONTROLLERS that is mounted."""
    mounts = {}
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        fields, _, filesystem = line.partition(" - ")
        kind, _source, options = filesystem.split()[:3]
        if kind == "cgroup":
            root, mount_point = fields.split()[3:5]
            for controller in set(V1_CONTROLLERS) & set(options.split(",")):
                mounts[controller] = (Path(mount_point), root)
    homes = {}
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in set(controllers.split(",")) & mounts.keys():
            mount_point, root = mounts[controller]
            homes[controller] = mount_point / os.path.relpath(path, root)
    return homes


def v1_usable() -> bool:
    """Both v1 hierarchies are mounted and this process may make groups under its own in each."""
    homes = v1_homes()
    return set(homes) == set(V1_CONTROLLERS) and all(os.access(home, os.W_OK) for home in homes.values())


def create_v1(name: str, memory: int, processes: int) -> Group:
    """A new v1 group under the grader's own, capped at `memory` bytes (swap included) and `processes`."""
    homes = v1_homes()
    folders = []
    for controller in V1_CONTROLLERS:
        parent = homes[controller] / GROUP_FOLDER
        remove_abandoned(parent)
        folder = parent / name
        for _ in range(3):  # another kernel's remove() may take the shared parent away in between
            try:
                folder.mkdir(parents=True, exist_ok=True)
                break
            except FileNotFoundError:
                continue
        folders.append(folder)
    memory_folder, pids_folder = folders
    # The swap limit (where the kernel accounts swap) can only be set at or above the memory limit.
    for limit_file in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
        if (memory_folder / limit_file).exists():
            (memory_folder / limit_file).write_text(str(memory), encoding="ascii")
    (pids_folder / "pids.max").write_text(str(processes), encoding="ascii")
    return Group(tuple(folders))


def remove_abandoned(parent: Path) -> None:
    """Remove the empty groups a killed launcher left (`kernel-PID`, its PID no longer running)."""
    if not parent.is_dir():
        return
    for folder in parent.iterdir():
        pid = folder.name.removeprefix("kernel-")
        if folder.is_dir() and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _remove_empty(folder)


def scope_command(memory: int, processes: int, command: list[str]) -> list[str]:
    """`command` run by systemd-run in a transient scope of its own with these limits (cgroup v2)."""
    user = [] if os.geteuid() == 0 else ["--user"]
    properties = [f"MemoryMax={memory}", "MemorySwapMax=0", f"TasksMax={processes}", "OOMPolicy=continue"]
    options = [argument for setting in properties for argument in ("-p", setting)]
    return ["systemd-run", *user, "--scope", "--quiet", "--collect", *options, "--", *command]


def own_v2_group() -> Group:
    """The v2 group this process runs in (inside a scope, the scope's)."""
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines():
        if line.startswith("0::"):
            return Group((V2_ROOT / line[3:].lstrip("/"),))
    raise OSError("this process is in no cgroup v2 group")


# Run in a probe scope: its group's own limits, as the kernel's launcher would find them.
_PROBE = (
    "from graders.classroom.cgroups import own_v2_group\n"
    "folder = own_v2_group().folders[0]\n"
    "print((folder / 'memory.max').read_text().strip(), (folder / 'pids.max').read_text().strip())\n"
)


@functools.cache
def scope_usable() -> bool:
    """On cgroup v2, systemd-run makes a scope here whose memory and process limits take effect."""
    if not (V2_ROOT / "cgroup.controllers").is_file() or shutil.which("systemd-run") is None:
        return False
    probe = scope_command(2**30, 64, [sys.executable, "-c", _PROBE])
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.split() == [str(2**30), "64"]


def mechanism() -> str:
    """How this machine bounds a kernel's group of processes: V1, SCOPE, or '' when it cannot."""
    if v1_usable():
        return V1
    return SCOPE if scope_usable() else ""
