"""The term of docs/instructor-guide.md, command for command, on a temporary course and exchange.

Ada and Bob are on the roster. Ada fetches the notebook through nbgrader's exchange (as on
JupyterHub), finishes it, submits it and fetches her feedback; Bob hands in nothing and still gets
his row. The reference answers are a private copy outside the repository.
"""

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders.core.paths import REPO_ROOT, SOLUTIONS_DIR, answers_dir
from graders.core.specs import specs_for

# Every test here runs nbgrader's commands.
pytestmark = pytest.mark.slow

NOTEBOOK = "00_autograd"
COURSE_ID = "gd-pytorch"
ROSTER = """id,first_name,last_name,email
ada,Ada,Lovelace,ada@example.org
bob,Bob,Blank,bob@example.org
"""
COURSE_CONFIG = """c = get_config()
load_subconfig("{repo}/nbgrader_config.py")
c.CourseDirectory.course_id = "{course_id}"
c.Exchange.root = "{exchange}"
c.Exchange.cache = "{cache}"
"""


def nbgrader(*arguments: str, cwd: Path, **environment: str) -> None:
    """Run one nbgrader command as the guide writes it, in the activated venv, failing with its output."""
    # nbgrader runs `alembic` from PATH when it creates the gradebook, so the venv must be activated.
    activated = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["nbgrader", *arguments], cwd=cwd, env={**activated, **environment}, capture_output=True, text=True
    )
    assert result.returncode == 0, f"nbgrader {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"


def test_a_term_through_the_exchange_with_private_answers(tmp_path: Path) -> None:
    course, exchange, cache = tmp_path / "course", tmp_path / "exchange", tmp_path / "student-cache"
    student_options = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}", f"--Exchange.cache={cache}"]
    solution = SOLUTIONS_DIR / f"{NOTEBOOK}.ipynb"

    (course / "source" / NOTEBOOK).mkdir(parents=True)
    shutil.copyfile(solution, course / "source" / NOTEBOOK / solution.name)
    exchange.mkdir()
    exchange.chmod(0o777)
    (course / "nbgrader_config.py").write_text(
        COURSE_CONFIG.format(repo=REPO_ROOT, course_id=COURSE_ID, exchange=exchange, cache=tmp_path / "cache")
    )
    (course / "roster.csv").write_text(ROSTER)
    nbgrader("db", "student", "import", "roster.csv", cwd=course)
    nbgrader("generate_assignment", NOTEBOOK, cwd=course)
    nbgrader("release_assignment", NOTEBOOK, cwd=course)

    home = tmp_path / "ada"
    home.mkdir()
    nbgrader("fetch_assignment", NOTEBOOK, *student_options, cwd=home)
    shutil.copyfile(solution, home / NOTEBOOK / solution.name)
    nbgrader("submit", NOTEBOOK, "--student=ada", *student_options, cwd=home)
    nbgrader("collect", NOTEBOOK, cwd=course)

    private_answers = tmp_path / "private" / "answers"
    shutil.copytree(answers_dir(), private_answers)
    nbgrader("autograde", NOTEBOOK, cwd=course, GRADERS_ANSWERS_DIR=str(private_answers))
    nbgrader("generate_feedback", NOTEBOOK, cwd=course)
    nbgrader("release_feedback", NOTEBOOK, cwd=course)
    nbgrader("fetch_feedback", NOTEBOOK, "--student=ada", *student_options, cwd=home)
    nbgrader("export", cwd=course)

    with (course / "grades.csv").open(newline="") as export:
        rows = list(csv.DictReader(export))
    scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in rows}
    full = float(sum(spec.points for spec in specs_for(NOTEBOOK).values()))
    assert scores == {"ada": (full, full), "bob": (0.0, full)}
    assert list((home / NOTEBOOK / "feedback").glob(f"*/{NOTEBOOK}.html"))


def test_the_package_students_install_carries_no_solutions_and_only_public_answers(tmp_path: Path) -> None:
    checkout = tmp_path / "course-repo"
    local = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__")
    shutil.copytree(REPO_ROOT, checkout, ignore=local)
    wheels = tmp_path / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir"]
    subprocess.run([*pip_wheel, str(wheels), str(checkout)], capture_output=True, check=True)
    (wheel,) = wheels.glob("gd_torch_course-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(name.startswith(("graders/", "gd_torch_course-")) for name in names), names
    assert not [name for name in names if name.endswith(".ipynb")], "a solution notebook in the wheel"
    # The public instance's reference answers travel with the package (a self-learner's self-checks);
    # hidden instances' references are made by the grader and never shipped.
    shipped = sorted(name for name in names if name.endswith(".json"))
    public = sorted(f"graders/public_answers/{path.name}" for path in (REPO_ROOT / "answers").glob("*.json"))
    assert shipped == public
