"""One notebook, anywhere: a fresh venv holding only Python, torch and a kernel runs a student notebook
as the site serves it. Its setup cell installs the course wheel from the site (a local HTTP server) with
what the wheel needs and never torch; with the solution filled in every check and graded cell earns full
self-check points, and a stub gets the one-line advice. The students' JupyterLab hides nbgrader's
instructor plugins."""

import functools
import http.server
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_jupyterlab import filled_in

from graders.core.paths import NOTEBOOKS_DIR, REPO_ROOT
from graders.core.setup_check import CPU_TORCH, check_setup
from graders.publishing.site import CoursePackage, Lesson, installing_from, render_index

NOTEBOOK = "00_autograd"
# The learner's own torch: the CPU build, named by its local version so that pip can never take a CUDA
# one (it comes from this machine's disk, as in CI; elsewhere from a pip configured with PyTorch's CPU
# index). Installed once into a cache folder that the fresh venvs see through a .pth file (minutes).
TORCH = "torch==2.13.0+cpu"
CACHE_DIR = REPO_ROOT / "build" / "install-test" / TORCH.replace("==", "-")
KERNEL = "course-install-test"
ADVICE = "this task is not done yet: fill in # YOUR CODE HERE, delete raise NotImplementedError(), run it"
INSTRUCTOR_PLUGINS = ("formgrader", "create-assignment", "course-list", "assignment-list", "menu")

pytestmark = [
    pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the torch wheel on disk is cp311"),
    pytest.mark.slow,  # installs the wheel into fresh venvs
]


@dataclass
class Learner:
    python: Path
    site_packages: Path
    url: str
    jupyter_path: Path


def pip(python: Path, *args: str) -> None:
    subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", "--quiet", *args], check=True, timeout=900
    )


def learner_packages() -> Path:
    """torch and ipykernel (what any Jupyter kernel has), made once; never numpy, matplotlib or graders."""
    done = CACHE_DIR / ".complete"
    if not done.exists():
        shutil.rmtree(CACHE_DIR, ignore_errors=True)
        pip(
            Path(sys.executable),
            "install",
            "--target",
            str(CACHE_DIR),
            TORCH,
            "ipykernel",
        )
        done.touch()
    return CACHE_DIR


@pytest.fixture(scope="module")
def learner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Learner]:
    """A fresh venv with torch and a kernel, a kernelspec for it, and the course wheel served over HTTP."""
    base = tmp_path_factory.mktemp("learner")
    wheels = base / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            ".",
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    subprocess.run([sys.executable, "-m", "venv", base / "venv"], check=True, timeout=300)
    python = base / "venv" / "bin" / "python"
    site_packages = Path(
        subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
        .decode()
        .strip()
    )
    (site_packages / "learner.pth").write_text(f"{learner_packages()}\n")
    spec = base / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    handler = functools.partial(QuietHandler, directory=str(wheels))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        (wheel,) = wheels.glob("gd_torch_course-*.whl")
        yield Learner(
            python, site_packages, f"http://127.0.0.1:{server.server_address[1]}/{wheel.name}", base
        )
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def run(
    learner: Learner, notebook: nbformat.NotebookNode, folder: Path, monkeypatch
) -> nbformat.NotebookNode:
    """The notebook as the site serves it, executed top to bottom in the learner's kernel, in `folder`."""
    folder.mkdir()
    downloaded = installing_from(notebook, learner.url)
    monkeypatch.setenv("JUPYTER_PATH", str(learner.jupyter_path / "jupyter"))
    for variable in ("GRADERS_ANSWERS_DIR", "GRADERS_INSTANCE", "PYTHONPATH"):
        monkeypatch.delenv(variable, raising=False)
    client = NotebookClient(
        downloaded,
        kernel_name=KERNEL,
        timeout=600,
        allow_errors=True,
        resources={"metadata": {"path": folder}},
    )
    return client.execute()


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += output.get("data", {}).values()
        parts += output.get("traceback", [])
    return "\n".join(str(part) for part in parts)


def installed(learner: Learner) -> set[str]:
    names = {path.name.split("-")[0].lower() for path in learner.site_packages.glob("*.dist-info")}
    return names - {"pip", "setuptools"}


@pytest.fixture(scope="module")
def solved(learner: Learner, tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run(learner, filled_in(NOTEBOOK), tmp_path_factory.mktemp("solved") / "work", monkeypatch)


def test_the_setup_cell_installs_the_wheel_and_its_needs_but_never_torch(
    solved: nbformat.NotebookNode, learner: Learner
) -> None:
    setup = text_of(solved.cells[1])
    assert "installed the course package and what it needs: " in setup, setup
    said = setup.split("what it needs: ")[1].splitlines()[0]
    names = {item.split()[0] for item in said.split(", ")}
    assert {"gd-torch-course", "numpy", "matplotlib", "tqdm", "json-tricks"} <= names, said
    assert not any(name.startswith(("torch", "nvidia")) for name in names), said
    assert {"gd_torch_course", "numpy", "matplotlib", "tqdm", "json_tricks"} <= installed(learner)
    assert not any(name.startswith(("torch", "nvidia")) for name in installed(learner))
    assert not {"nbgrader", "distributed", "psycopg", "jupyterlab"} & installed(learner)


def test_the_solved_notebook_runs_and_earns_full_self_check_points(solved: nbformat.NotebookNode) -> None:
    errors = [
        text_of(cell)
        for cell in solved.cells
        if any(o.output_type == "error" for o in cell.get("outputs", []))
    ]
    assert errors == []
    everything = "\n".join(text_of(cell) for cell in solved.cells)
    assert "instructor grades" not in everything and "no reference answers here" not in everything
    assert "✗" not in everything
    graded = [cell for cell in solved.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    assert graded
    for cell in graded:
        points = cell.metadata.nbgrader.points
        shown = text_of(cell)
        assert f"<b>{points:g}/{points:g} points</b> <i>(self-check)</i>" in shown, shown


def test_a_stub_gets_the_one_line_advice(learner: Learner, tmp_path: Path, monkeypatch) -> None:
    student = nbformat.read(NOTEBOOKS_DIR / f"{NOTEBOOK}.ipynb", as_version=4)
    ran = run(learner, student, tmp_path / "work", monkeypatch)
    first_task = next(cell for cell in ran.cells if cell.metadata.get("nbgrader", {}).get("solution"))
    (error,) = [output for output in first_task.outputs if output.output_type == "error"]
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in error.traceback] == [ADVICE]
    assert not [output for output in ran.cells[1].outputs if output.output_type == "error"]


def test_a_missing_torch_stops_the_setup_cell_with_the_cpu_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "torch" else find_spec(name)
    )
    with pytest.raises(SystemExit, match=re.escape(CPU_TORCH)):
        check_setup()


@pytest.mark.parametrize(
    ("version", "warned"),
    [
        ("2.13.0+cpu", False),
        ("2.4.1", False),
        ("2.14.1", False),
        ("2.3.1", True),
        ("2.15.0", True),
        ("3.0", True),
    ],
)
def test_a_torch_outside_the_range_gets_a_warning_and_no_refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, version: str, warned: bool
) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version)
    check_setup()
    assert ("warning: torch " + version in capsys.readouterr().out) == warned


def test_the_index_links_the_wheel_and_gives_colab_its_first_cell() -> None:
    url = "https://course.example/gd/gd_torch_course-0.1.0-py3-none-any.whl"
    package = CoursePackage(Path("gd_torch_course-0.1.0-py3-none-any.whl"), url)
    index = render_index([Lesson(NOTEBOOK, "Autograd", "", "")], package)
    assert f"<code>%pip install {url}</code>" in index
    assert '<a href="gd_torch_course-0.1.0-py3-none-any.whl">' in index
    assert "%pip install" not in render_index([Lesson(NOTEBOOK, "Autograd", "", "")])


def test_the_students_jupyterlab_hides_the_instructor_plugins() -> None:
    listed = subprocess.run(
        [REPO_ROOT / ".venv" / "bin" / "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    disabled = listed.stdout + listed.stderr
    disabled = disabled.split("Disabled extensions:")[1]
    for plugin in INSTRUCTOR_PLUGINS:
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert "@jupyter/nbgrader:validate-assignment" not in disabled
