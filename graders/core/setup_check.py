"""What every notebook's setup cell runs once the course package imports: it says what that cell installed,
and checks Python and torch, which stay the learner's own (the package never installs torch)."""

import importlib.metadata
import importlib.util
import sys
from collections.abc import Set

# torch releases the notebooks accept without a warning (a warning, never a refusal, outside). Run here:
# 2.13.0 only (the course environment, tests/test_install.py); Colab's runtime had 2.9 in January 2026
# (googlecolab/colabtools#5661), inside the range.
TORCH_RANGE = ((2, 4), (2, 14))
PYTHON_MINIMUM = (3, 11)
# PyTorch's CPU build: a plain `pip install torch` on Linux pulls several GB of CUDA libraries.
CPU_TORCH = "%pip install torch --index-url https://download.pytorch.org/whl/cpu"


def check_setup(installed_before: Set[str] | None = None) -> None:
    """Print what was installed since `installed_before` (distribution names, None: nothing was), then stop
    with advice on an old Python or a missing torch, and warn about a torch outside TORCH_RANGE."""
    if installed_before is not None:
        added = sorted(
            f"{dist.name} {dist.version}"
            for dist in importlib.metadata.distributions()
            if dist.name not in installed_before
        )
        print(f"installed the course package and what it needs: {', '.join(added) or 'nothing new'}")
    if sys.version_info < PYTHON_MINIMUM:
        raise SystemExit(f"this course needs Python 3.11 or newer, not {sys.version.split()[0]}")
    if importlib.util.find_spec("torch") is None:
        raise SystemExit(f"torch is missing: install its CPU build (about 200 MB): {CPU_TORCH}")
    version = importlib.metadata.version("torch")
    if not TORCH_RANGE[0] <= release(version) <= TORCH_RANGE[1]:
        low, high = (".".join(map(str, bound)) for bound in TORCH_RANGE)
        print(
            f"warning: torch {version} is outside the versions this course is checked with ({low} to {high}):"
            " a check may disagree with your correct answer. Any torch from that range fixes it."
        )


def release(version: str) -> tuple[int, int]:
    """(major, minor) of a version string such as '2.13.0+cpu'."""
    major, minor = version.split("+")[0].split(".")[:2]
    return int(major), int("".join(char for char in minor if char.isdigit()) or 0)
