"""The limits a student's notebook runs under when the class is graded, and the kernel that enforces them.

nbgrader starts the kernel named KERNEL_NAME, whose spec runs `python -m graders.sandbox`: it caps the
kernel's address space, ties the kernel's life to the grading process, then becomes ipykernel.
"""

import ctypes
import json
import os
import resource
import signal
import sys
from pathlib import Path

KERNEL_NAME = "graders-sandbox"

# A course notebook needs well under 1 GiB (torch alone maps about 0.7 GiB); 4 GiB leaves room for a
# slow but honest solution while a cell that asks for tens of GB gets a MemoryError instead of the OOM killer.
MEMORY_LIMIT_BYTES = 4 * 2**30

# Per-cell limits: at least 20 times the slowest solution cell measured by `make bench`
# (bench/results.md; the torch import in the setup cell, 1-2 s here), rounded up to 30 or 60 s. An
# honest solution on a slow machine stays under them; an infinite loop is interrupted after them.
CELL_TIMEOUT_SECONDS = {
    "00_autograd": 30,
    "01_gradient_steps": 60,
    "02_torch_optim": 60,
    "03_rank1_approximation": 60,
    "04_linear_mapping": 60,
    "05_matrix_inverse": 60,
    "06_svd": 60,
}

# A cell that swallows KeyboardInterrupt cannot be interrupted, and every later cell then waits its
# full timeout: after this many cell timeouts the whole submission is stopped and reported.
SUBMISSION_TIMEOUT_CELLS = 4

_PR_SET_PDEATHSIG = 1


def cell_timeout(notebook: str) -> int:
    """Seconds one cell of `notebook` may run before nbgrader interrupts it."""
    if notebook not in CELL_TIMEOUT_SECONDS:
        raise ValueError(f"no cell timeout for {notebook} in graders/sandbox.py: measure it (make bench)")
    return CELL_TIMEOUT_SECONDS[notebook]


def install_kernel_spec(jupyter_dir: Path, memory_limit: int = MEMORY_LIMIT_BYTES) -> Path:
    """Write the sandbox kernel spec under jupyter_dir/kernels, for a JUPYTER_PATH of jupyter_dir only."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "graders.sandbox", str(memory_limit), "-f", "{connection_file}"],
        "display_name": f"Python 3 (graders sandbox, {memory_limit / 2**30:g} GiB)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return spec_dir


def limit_memory(limit: int) -> None:
    """Cap this process's address space: a large allocation then fails inside the cell that asked for it."""
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a stopped grader leaves no kernel behind."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def main(argv: list[str]) -> None:
    """Kernel launcher: `python -m graders.sandbox LIMIT_BYTES -f CONNECTION_FILE`."""
    limit, *kernel_arguments = argv
    limit_memory(int(limit))
    die_with_parent()
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *kernel_arguments])


if __name__ == "__main__":
    main(sys.argv[1:])
