"""The grading kernel spec's command: a kernel forked by the worker's zygote, or else a cold one.

`python -I kernel_relay.py MEMORY CONNECTION_FILE`, run by path so it starts without importing the graders
package. Where ZYGOTE_VARIABLE names a zygote (graders.classroom.warm_kernels), it asks it for a kernel
and stays until that kernel ends, with its exit status: jupyter_client sees this process as the kernel,
and when it ends (killed or not) the zygote kills the kernel. Otherwise it becomes the cold launcher,
`python -m graders.classroom.sandbox launch`. Standard library only.
"""

import ctypes
import json
import os
import signal
import socket
import sys

# Kept equal to graders.classroom.warm_kernels.ZYGOTE_VARIABLE (a test checks).
ZYGOTE_VARIABLE = "GRADERS_ZYGOTE"
# The only variables sent to the zygote, whose forks would keep any other in memory: the sandbox's
# PASSED_ENVIRONMENT and BOUNDS_VARIABLE (a test checks).
SENT_ENVIRONMENT = (
    "NBGRADER_EXECUTION",
    "LANG",
    "LC_ALL",
    "TZ",
    "MPLBACKEND",
    "GRADERS_INSTANCE",
    "GRADERS_KERNEL_BOUNDS",
)
_PR_SET_PDEATHSIG = 1


def warm(address: str, memory: str, connection_file: str) -> int | None:
    """The exit status of a kernel the zygote at `address` ran; None when it started none."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError:
        return None
    request = {
        "memory_limit": int(memory),
        "connection_file": os.path.abspath(connection_file),
        "workdir": os.getcwd(),
        "environment": {name: os.environ[name] for name in SENT_ENVIRONMENT if name in os.environ},
    }
    # The kernel writes where this process would: jupyter_client's pipes or files.
    socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    answer = json.loads(connection.makefile("rb").readline() or b'{"error": "the zygote hung up"}')
    if "error" in answer:  # the cold launcher refuses a bad request the same way, or does better
        print(f"graders: no warm kernel ({answer['error']}): starting a cold one", file=sys.stderr)
        return None
    return answer["status"]


def main(argv: list[str]) -> None:
    memory, connection_file = argv
    # Dies with jupyter_client, and so (its connection closing) does the kernel.
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    address = os.environ.get(ZYGOTE_VARIABLE)
    status = warm(address, memory, connection_file) if address else None
    if status is not None:
        sys.exit(status)
    launcher = [sys.executable, "-m", "graders.classroom.sandbox", "launch", memory, connection_file]
    os.execv(sys.executable, launcher)


if __name__ == "__main__":
    main(sys.argv[1:])
