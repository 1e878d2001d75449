"""Run a command that dies with the process that started it, however that process ends (even SIGKILL).

`tethered(COMMAND)` runs this file, which asks Linux for SIGKILL when its parent dies and then becomes
COMMAND. It is run by path, not as `-m graders.classroom.tether`, so it starts without importing the graders
package.
"""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a stopped grader leaves no process behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def tethered(command: list[str]) -> list[str]:
    """The command line that runs `command` (its first item a path) so that it dies with this process.

    Linux sends the signal when the thread that started it ends: start and wait for it in one thread.
    """
    return [sys.executable, "-I", __file__, str(os.getpid()), *command]


def main(argv: list[str]) -> None:
    """`python -I tether.py PARENT_PID COMMAND...`: set the death signal, check the parent, exec COMMAND."""
    parent, *command = argv
    die_with_parent()
    if os.getppid() != int(parent):  # the parent died before prctl, so no signal would ever come
        raise SystemExit(f"not started: process {parent}, which asked for {command[0]}, is gone")
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
