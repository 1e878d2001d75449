"""`make setup` fails early and cleanly: another Python refused before installing, a broken .venv rebuilt."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders.core.paths import REPO_ROOT

# Every test here runs make setup into fresh venvs.
pytestmark = pytest.mark.slow

SETUP_FILES = ("Makefile", "pyproject.toml", "constraints.txt")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The files `make setup` reads, in a folder of their own (no .venv yet)."""
    for name in SETUP_FILES:
        shutil.copyfile(REPO_ROOT / name, tmp_path / name)
    return tmp_path


def make_setup(folder: Path, *variables: str) -> subprocess.CompletedProcess:
    # PIP=false stands in for the install: these tests stop where the packages would be downloaded.
    return subprocess.run(
        ["make", "--no-print-directory", "setup", "PIP=false", *variables],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_another_python_is_refused_before_anything_is_made(checkout, tmp_path_factory):
    other = tmp_path_factory.mktemp("bin") / "python3"
    other.write_text("#!/bin/sh\necho 3.12\n")
    other.chmod(0o755)
    result = make_setup(checkout, f"PYTHON={other}")
    assert result.returncode == 2
    assert f"the course needs Python 3.11, and PYTHON={other} is 3.12" in result.stdout
    assert not (checkout / ".venv").exists()


def test_a_missing_python_is_named(checkout):
    result = make_setup(checkout, "PYTHON=no-such-python3.11")
    assert result.returncode == 2
    assert "PYTHON=no-such-python3.11 is not found" in result.stdout


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs the supported Python to rebuild with")
def test_a_broken_venv_is_rebuilt_with_a_note(checkout):
    broken = checkout / ".venv" / "bin" / "python"
    broken.parent.mkdir(parents=True)
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    result = make_setup(checkout, f"PYTHON={sys.executable}")
    assert ".venv is broken or made by another Python: removing it and building it again" in result.stdout
    rebuilt = subprocess.run([broken, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True)
    assert rebuilt.stdout.decode().strip() == "(3, 11)"
