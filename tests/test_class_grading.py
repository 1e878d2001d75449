"""The class grader end to end: a class built from the solutions, graded with nbgrader in one command.

One module-scoped run (JOBS=2) grades every kind of submission in tests/class_fixture.py; the other
tests read its results, re-run it, or grade part of the class another way and compare rows.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, fixture_class, write_roster, write_submissions, write_zip
from nbgrader.utils import determine_grade

from graders.__main__ import main
from graders.classroom.course import SubmissionsError, course_notebooks
from graders.classroom.grade_class import grade_class
from graders.classroom.gradebook import run_nbgrader
from graders.classroom.preprocessors import LimitOutputSize, ScoreOutsideKernel, graded_keys
from graders.classroom.report_rows import GRADES_COLUMNS, WALK_IN
from graders.classroom.roster import load_roster
from graders.classroom.sandbox import KERNEL_NAME, Limits, install_kernel_spec
from graders.classroom.settings import load_settings
from graders.core.answer_files import save_answers
from graders.core.grading import load_reference
from graders.core.specs import DEFAULT_CELL_TIMEOUT_SECONDS

# Every test here grades classes through nbgrader in the sandbox.
pytestmark = pytest.mark.slow

PUPILS = {pupil.id: pupil for pupil in fixture_class()}
# A few students whose outcomes differ in kind: graded, blank, tampering, kernel death, unreadable, absent.
SAMPLE = ["absent", "blank", "correct", "kills_kernel", "not_json", "patches_numpy"]


@dataclass(frozen=True)
class GradedClass:
    """The fixture class after one `python -m graders class` run."""

    exit_code: int
    course: Path
    submissions: Path
    roster: Path
    rows: dict[str, dict[str, str]]
    report: str
    left_running: list[str]

    def problems_of(self, student: str) -> list[str]:
        return [line.strip() for line in self.report.splitlines() if line.strip().startswith(f"{student} / ")]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (a kernel's orphans go to its sandbox's PID 1, still below it)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (field 2) may hold spaces and parentheses: the fields after its last ')'.
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(gone)"


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return {row["student_id"]: row for row in csv.DictReader(stream)}


def class_arguments(submissions: Path, roster: Path, course: Path, jobs: int) -> list[str]:
    return [
        "class",
        str(submissions),
        f"--roster={roster}",
        f"--jobs={jobs}",
        f"--cell-timeout={CELL_TIMEOUT}",
        f"--course={course}",
        # The public instance: the fast path, compared with this class below, grades answer files on it
        # (tests/test_hidden_instances.py grades a class on hidden instances).
        "--instances=0",
    ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> GradedClass:
    root = tmp_path_factory.mktemp("class")
    pupils = list(PUPILS.values())
    submissions = write_submissions(root / "submissions", pupils)
    roster = write_roster(root / "roster.csv", pupils)
    course = root / "course"
    already_running = descendants(os.getpid())
    exit_code = main(class_arguments(submissions, roster, course, jobs=2))
    # multiprocessing's resource tracker, once started, serves this process until it exits: not the run's.
    left_running = [
        line
        for line in map(command_line, sorted(descendants(os.getpid()) - already_running))
        if "multiprocessing.resource_tracker" not in line
    ]
    report = (course / "report.txt").read_text(encoding="utf-8")
    return GradedClass(
        exit_code, course, submissions, roster, read_rows(course / "grades.csv"), report, left_running
    )


def test_every_student_gets_a_row_with_the_expected_score(graded: GradedClass) -> None:
    assert set(graded.rows) == set(PUPILS)
    for student, pupil in PUPILS.items():
        assert float(graded.rows[student]["score"]) == pupil.score, student
        assert float(graded.rows[student]["max_score"]) == 7


def test_every_problem_is_reported_with_its_student_and_nothing_else(graded: GradedClass) -> None:
    for student, pupil in PUPILS.items():
        reported = graded.problems_of(student)
        for finding in pupil.findings:
            assert any(finding in line for line in reported), (student, finding, reported)
        assert bool(reported) == bool(pupil.findings), (student, reported)
    assert graded.exit_code == 1


def test_the_audit_agrees_with_the_scores_computed_outside_the_kernel(graded: GradedClass) -> None:
    disagreeing = {
        student: (row["score"], row["recomputed_score"])
        for student, row in graded.rows.items()
        if row["recomputed_score"] and float(row["recomputed_score"]) != float(row["score"])
    }
    assert disagreeing == {}
    assert graded.rows["patches_graders"]["score"] == "0"
    assert graded.rows["correct"]["audit"] == "" and graded.rows["correct"]["recomputed_score"] == "7"


def test_roster_names_reach_the_export(graded: GradedClass) -> None:
    row = graded.rows["correct"]
    assert (row["first_name"], row["last_name"], row["email"]) == (
        "First correct",
        "Last correct",
        "correct@example.org",
    )


# What both paths know: everything but the timestamps nbgrader keeps and the findings only a run can show.
SHARED_COLUMNS = [column for column in GRADES_COLUMNS if column not in {"duedate", "timestamp", "audit"}]


def fast_path_rows(autograded: Path, out: Path, *options: str) -> dict[str, dict[str, str]]:
    """The fast path on what the kernels left: autograded/<student>/<notebook>/ is its layout."""
    main(["grade", str(autograded), "--out", str(out), *options])
    return read_rows(out)


def assert_same_rows(fast: dict[str, dict[str, str]], graded: dict[str, dict[str, str]]) -> None:
    """Both paths' rows agree column by column, and a row the audit left clean is clean on the fast path."""
    for student, row in fast.items():
        theirs = graded[student]
        # The fast path reads the instance off an answer file: without one, only the class path knows it.
        columns = [column for column in SHARED_COLUMNS if column != "instance" or row["instance"]]
        assert {c: row[c] for c in columns} == {c: theirs[c] for c in columns}, student
        assert (WALK_IN in row["audit"]) == (WALK_IN in theirs["audit"]), student
        if not theirs["audit"]:
            assert row["audit"] == "", student


def test_both_paths_give_the_same_rows_with_roster_and_walk_ins(graded: GradedClass, tmp_path: Path) -> None:
    fast = fast_path_rows(graded.course / "autograded", tmp_path / "fast.csv", f"--roster={graded.roster}")
    assert set(fast) == set(graded.rows)
    assert_same_rows(fast, graded.rows)
    assert WALK_IN in fast["walk_in"]["audit"]


def test_nbgrader_export_with_the_audited_exporter_gives_grades_csv(
    graded: GradedClass, tmp_path: Path
) -> None:
    """The export plugin knows no roster, so only the walk-in flag is missing from its rows."""
    out = tmp_path / "exported.csv"
    run_nbgrader(
        ["export", "--exporter=graders.classroom.plugins.AuditedExport", f"--to={out}"],
        graded.course,
        tmp_path / "log",
    )
    without_roster = {
        student: {**row, "audit": "; ".join(f for f in row["audit"].split("; ") if f != WALK_IN)}
        for student, row in graded.rows.items()
    }
    assert read_rows(out) == without_roster


def test_feedback_for_every_graded_notebook(graded: GradedClass) -> None:
    for student in graded.rows:
        page = graded.course / "feedback" / student / NOTEBOOK / f"{NOTEBOOK}.html"
        assert page.is_file() == (graded.course / "autograded" / student / NOTEBOOK).is_dir(), student
    assert "7.0 / 7.0" in (graded.course / "feedback" / "correct" / NOTEBOOK / f"{NOTEBOOK}.html").read_text()


def test_the_class_overview_counts_the_graded_students(graded: GradedClass) -> None:
    """class-report.html and class-diagnoses.csv beside report.txt: a notebook not graded is no mistake."""
    not_graded = {
        student
        for student, pupil in PUPILS.items()
        if any(finding.startswith(("not graded", "no 00_autograd")) for finding in pupil.findings)
    }
    scores = [pupil.score for student, pupil in PUPILS.items() if student not in not_graded]
    mean = sum(scores) / len(scores)
    page = " ".join((graded.course / "class-report.html").read_text(encoding="utf-8").split())
    assert f"{len(scores)} graded, mean {mean:.3g} of 7 points, {scores.count(7)} with full marks" in page
    assert f"{len(not_graded)} not graded" in page and "class-report.html" in graded.report
    with (graded.course / "class-diagnoses.csv").open(newline="", encoding="utf-8") as stream:
        diagnoses = list(csv.DictReader(stream))
    hit = {(row["task"], student) for row in diagnoses for student in row["student_ids"].split()}
    assert {("X_grad", "typical_mistakes"), ("grad_after_zeroing", "typical_mistakes")} <= hit
    assert not {student for _, student in hit} & (not_graded | {"correct", "walk_in"})


def test_megabytes_of_printing_are_cut(graded: GradedClass) -> None:
    autograded = graded.course / "autograded" / "prints_megabytes" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    assert autograded.stat().st_size < 1_000_000
    assert "output truncated" in autograded.read_text(encoding="utf-8")


def test_no_kernel_outlives_the_grading(graded: GradedClass) -> None:
    """The kernel that ignored interrupts was killed; no worker, zygote or kernel outlives the run."""
    assert graded.left_running == []
    inside = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(process / "cwd")).is_relative_to(graded.course):
                inside.append(process.name)
        except OSError:
            continue
    assert inside == []


def test_rerun_regrades_only_what_is_unfinished(graded: GradedClass) -> None:
    """Like a run interrupted before `correct` was recorded: the rerun grades it alone, same CSV."""
    before = (graded.course / "grades.csv").read_bytes()
    (graded.course / "grading" / "done" / NOTEBOOK / "correct.json").unlink()
    roster = load_roster(graded.roster)
    # The public instance, as the fixture class was graded (class_arguments).
    report = grade_class(
        graded.submissions, graded.course, roster, jobs=2, limits=Limits(CELL_TIMEOUT), instances=0
    )
    assert report.graded_now == 1
    assert (graded.course / "grades.csv").read_bytes() == before
    again = grade_class(graded.submissions, graded.course, roster, limits=Limits(CELL_TIMEOUT), instances=0)
    assert again.graded_now == 0
    assert (graded.course / "grades.csv").read_bytes() == before


def test_serial_interrupted_zip_run_matches_the_parallel_folder_run(
    graded: GradedClass, tmp_path: Path
) -> None:
    """JOBS=1 on an LMS zip, gradebook elsewhere, interrupted and resumed: the rows of JOBS=2 on folders."""
    pupils = [PUPILS[student] for student in SAMPLE]
    download = write_zip(tmp_path / "download.zip", write_submissions(tmp_path / "folders", pupils))
    with zipfile.ZipFile(download, "a") as archive:
        archive.writestr(f"submissions/{NOTEBOOK}.ipynb", "a notebook without its student's name")
    roster, course = write_roster(tmp_path / "roster.csv", pupils), tmp_path / "course"
    gradebook = tmp_path / "elsewhere" / "gradebook.db"
    gradebook.parent.mkdir()
    arguments = [*class_arguments(download, roster, course, jobs=1), f"--db-url=sqlite:///{gradebook}"]
    run = subprocess.Popen([sys.executable, "-m", "graders", *arguments], stderr=subprocess.PIPE, text=True)
    done = course / "grading" / "done" / NOTEBOOK
    while run.poll() is None and not any(done.glob("*.json")):
        time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 130, err
    assert "run the same command again" in err
    assert 0 < len(list(done.glob("*.json"))) < len(SAMPLE) - 1
    assert main(arguments) == 1
    rows = read_rows(course / "grades.csv")
    assert rows == {student: graded.rows[student] for student in SAMPLE}
    report = (course / "report.txt").read_text(encoding="utf-8")
    assert f"(zip) / {NOTEBOOK}: {NOTEBOOK}.ipynb was not collected" in report
    assert gradebook.is_file() and not (course / "gradebook.db").exists()


def graded_cell(source: str, points: float) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test-x",
        "points": points,
        "solution": False,
        "locked": True,
    }
    return cell


def test_graded_cells_get_the_score_of_the_answer_file_not_the_kernels(tmp_path: Path) -> None:
    """Whatever the kernel printed (full marks, stderr), the cell shows what the answer file earns."""
    cell = graded_cell('grade(NOTEBOOK, "sum_grads")\ngrade(NOTEBOOK, "X_grad")', points=3)
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: something deprecated\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "3.0"}, execution_count=1),
    ]
    reference = load_reference(NOTEBOOK)
    save_answers(
        {"sum_grads": reference["sum_grads"], "X_grad": -reference["X_grad"]}, tmp_path / ".answer.json"
    )
    node = nbformat.v4.new_notebook(cells=[cell])
    resources = {"nbgrader": {"notebook": NOTEBOOK}, "metadata": {"path": str(tmp_path)}}
    ScoreOutsideKernel().preprocess(node, resources)
    assert determine_grade(cell) == (1.0, 3.0)
    printed = cell.outputs[0].text
    assert "✓ sum_grads [1/1]" in printed and "✗ X_grad [0/2]" in printed


def test_a_graded_cell_that_names_no_key_is_a_course_bug() -> None:
    with pytest.raises(ValueError, match="must call grade"):
        graded_keys("print('full marks')")
    assert graded_keys('grade(NOTEBOOK, "a", "b")  # restored by nbgrader') == ["a", "b"]


def test_output_is_cut_to_a_character_budget() -> None:
    cell = nbformat.v4.new_code_cell("print(...)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 5000)]
    LimitOutputSize(max_chars=100).preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].text.startswith("x" * 100 + "\n... output truncated (5,000 characters)")


def test_sandbox_kernel_refuses_memory_beyond_its_limit(tmp_path: Path) -> None:
    spec = json.loads((install_kernel_spec(tmp_path, memory_limit=2**30) / "kernel.json").read_text())
    assert spec["argv"][1] == "-I" and spec["argv"][2].endswith("kernel_relay.py")
    assert spec["argv"][3:] == ["1073741824", "{connection_file}"]
    assert (tmp_path / "kernels" / KERNEL_NAME / "kernel.json").is_file()
    probe = (
        "from graders.classroom.sandbox import limit_resources\n"
        "limit_resources(2**30)\nimport numpy\nnumpy.ones(2**28)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "MemoryError" in result.stderr


def test_a_notebook_sets_its_cell_timeout_in_its_spec_module_or_gets_the_default() -> None:
    assert Limits().cell_seconds(NOTEBOOK) == 30 and Limits(cell_timeout=5).cell_seconds(NOTEBOOK) == 5
    others = [name for name in course_notebooks() if name != NOTEBOOK]
    assert others and {Limits().cell_seconds(name) for name in others} == {DEFAULT_CELL_TIMEOUT_SECONDS}


def test_submissions_without_course_notebooks_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ada" / "homework").mkdir(parents=True)
    assert main(["class", str(tmp_path), f"--course={tmp_path / 'course'}"]) == 2
    assert "no submissions of any course notebook" in capsys.readouterr().err


def test_a_course_directory_it_did_not_make_is_left_alone(tmp_path: Path) -> None:
    submissions = write_submissions(tmp_path / "submissions", [PUPILS["correct"]])
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "nbgrader_config.py").write_text("# an instructor's own course\n")
    with pytest.raises(SubmissionsError, match="was not laid out by"):
        grade_class(submissions, tmp_path / "theirs")
    assert (tmp_path / "theirs" / "nbgrader_config.py").read_text() == "# an instructor's own course\n"


def test_settings_come_from_the_course_config_and_flags_override_them(tmp_path: Path) -> None:
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\nc.ClassGrader.jobs = 3\nc.ClassGrader.cell_timeout = 7\n")
    from_file = load_settings(config)
    assert (from_file.jobs, from_file.limits.cell_seconds(NOTEBOOK), from_file.limits.sandboxed) == (
        3,
        7,
        True,
    )
    flagged = load_settings(config, jobs=1, cell_timeout=None, sandbox=False)
    assert (flagged.jobs, flagged.limits.cell_seconds(NOTEBOOK), flagged.limits.sandboxed) == (1, 7, False)
    assert load_settings().jobs == 2  # the course's own nbgrader_config.py


def test_the_dask_scheduler_is_a_course_setting_too(tmp_path: Path) -> None:
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\nc.ClassGrader.scheduler = 'tcp://grading-host:8786'\n")
    assert (load_settings(config).scheduler, load_settings(config).workers) == ("tcp://grading-host:8786", 0)
    assert load_settings(config, scheduler=None, workers=2).workers == 2
    assert load_settings().scheduler == ""  # one machine unless a course says otherwise
