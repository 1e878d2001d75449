"""Hidden instances at grading (issue 17): how each student's instance is chosen, and a class graded on
hidden instances where copied, hard-coded and forged answers earn no instance-dependent point."""

import csv
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, Pupil, student_notebook, write_submissions
from test_sandbox import sandbox_or_skip

from graders.classroom.audit import NOT_ITS_OWN
from graders.classroom.grade_class import grade_class
from graders.classroom.hidden_instances import SECRET_FILE, hidden_instance, instance_plan
from graders.classroom.notebook_runs import Execution
from graders.classroom.references import reference_path, solution_digest
from graders.classroom.sandbox import Limits
from graders.core.answer_files import find_answer_file
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.loader import load_answers
from graders.core.paths import answers_dir
from graders.core.scoring import grade_answer_file
from graders.core.specs import instance_free_keys

# Every test here grades through nbgrader in the sandbox.
pytestmark = pytest.mark.slow

STUDENTS = [f"student{number:03d}" for number in range(400)]


def test_the_choice_is_stable_and_spread_over_the_whole_pool() -> None:
    chosen = [hidden_instance("course secret", NOTEBOOK, student, 8) for student in STUDENTS]
    assert chosen == [hidden_instance("course secret", NOTEBOOK, student, 8) for student in STUDENTS]
    counts = Counter(chosen)
    assert set(counts) == set(range(1, 9))
    # 50 per instance on average; a fair choice stays well within half to twice that.
    assert all(25 <= count <= 100 for count in counts.values()), counts


def test_the_choice_depends_on_the_secret_the_notebook_and_the_student() -> None:
    first = [hidden_instance("one secret", NOTEBOOK, student, 8) for student in STUDENTS]
    other_secret = [hidden_instance("another secret", NOTEBOOK, student, 8) for student in STUDENTS]
    other_notebook = [hidden_instance("one secret", "01_gradient_steps", student, 8) for student in STUDENTS]
    # Unrelated choices agree one time in eight: 50 of 400 on average, never most of them.
    assert sum(a == b for a, b in zip(first, other_secret, strict=True)) < 100
    assert sum(a == b for a, b in zip(first, other_notebook, strict=True)) < 100
    # The separator keeps notebook "ab" of student "c" apart from notebook "a" of student "bc".
    assert hidden_instance("s", "ab", "c", 10**6) != hidden_instance("s", "a", "bc", 10**6)


def test_a_pool_of_zero_grades_everyone_on_the_public_instance_and_says_so(tmp_path: Path) -> None:
    plan = instance_plan(tmp_path, 0)
    assert plan.instance(NOTEBOOK, "ada") == PUBLIC_INSTANCE
    assert plan.report_line().startswith("instances: NONE")
    assert not (tmp_path / SECRET_FILE).exists()


def test_the_secret_is_made_once_readable_by_its_owner_only_and_reported(tmp_path: Path) -> None:
    made = instance_plan(tmp_path / "grading", 8)
    path = tmp_path / "grading" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(made.secret) == 64 and made.secret in path.read_text()
    assert f"made now and kept in {path}" in made.report_line()
    again = instance_plan(tmp_path / "grading", 8)
    assert again.secret == made.secret
    assert f"kept in {path}" in again.report_line() and "made now" not in again.report_line()
    assert [again.instance(NOTEBOOK, s) for s in STUDENTS] == [made.instance(NOTEBOOK, s) for s in STUDENTS]
    assert list((tmp_path / "grading").iterdir()) == [path]  # no draft left behind


def test_a_configured_secret_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    plan = instance_plan(tmp_path, 3, "the instructor's secret")
    assert plan.instance(NOTEBOOK, "ada") == hidden_instance("the instructor's secret", NOTEBOOK, "ada", 3)
    assert "c.ClassGrader.instance_secret" in plan.report_line()
    assert not (tmp_path / SECRET_FILE).exists()


def test_references_are_cached_by_solution_and_instance_in_the_course(tmp_path: Path) -> None:
    assert reference_path(tmp_path, NOTEBOOK, PUBLIC_INSTANCE) == answers_dir() / f"{NOTEBOOK}.json"
    hidden = reference_path(tmp_path, NOTEBOOK, 3)
    assert hidden.is_relative_to(tmp_path) and hidden.name == f"{solution_digest(NOTEBOOK)}-3.json"
    assert reference_path(tmp_path, NOTEBOOK, 4) != hidden


@pytest.mark.parametrize("pool", [1, 2, 3])
def test_every_hidden_instance_is_one_of_the_pool(pool: int) -> None:
    assert {hidden_instance("s", NOTEBOOK, student, pool) for student in STUDENTS} == set(range(1, pool + 1))


# The class: an honest student, two who hand in others' values as their own, and five forgers who write
# a perfect answer file themselves (the public answers, or a classmate's) and then get around the dump.
POOL = 2
HONEST = "honest"
ON_ANOTHER_INSTANCE = ("copies_classmate", "forger_overwrites", "forger_deletes_dump")
FORGERS = {
    "forger_breaks_dump": "the dump cell failed (RuntimeError)",
    "forger_skips_dump": "the dump cell did not save the answers",
    "forger_prints_saved": "the dump cell did not save the answers",
    "forger_overwrites": "the answer file differs from the one the dump cell wrote",
    "forger_deletes_dump": "the notebook has no dump cell",
}


@dataclass(frozen=True)
class HiddenClass:
    rows: dict[str, dict[str, str]]
    earned: dict[str, dict[str, float]]
    report: str
    feedback: str
    course: Path


def _secret_apart() -> str:
    """A course secret that puts every copier of the honest student's values on the other instance."""
    return next(
        secret
        for secret in (f"test secret {number}" for number in range(1000))
        if all(
            hidden_instance(secret, NOTEBOOK, student, POOL)
            != hidden_instance(secret, NOTEBOOK, HONEST, POOL)
            for student in ON_ANOTHER_INSTANCE
        )
    )


def _sets_values(answer_file: str) -> str:
    """A task cell that hard-codes every answer of an answer file's text."""
    return (
        "from graders.core.loader import loads_answers\n\n"
        f"globals().update(loads_answers(r'''{answer_file}'''))\n"
    )


def _writes(answer_file: str) -> str:
    """Code that writes a perfect answer file itself."""
    return f"with open('{NOTEBOOK}.answer.json', 'w') as forged:\n    forged.write(r'''{answer_file}''')\n"


def _write_class(root: Path, classmate: str) -> Path:
    public = (answers_dir() / f"{NOTEBOOK}.json").read_text(encoding="utf-8")
    pupils = [
        Pupil(HONEST, 7),
        Pupil("hardcodes_public", 0, cells={"sum-grads": _sets_values(public)}, blank=True),
        Pupil("copies_classmate", 0, cells={"sum-grads": _sets_values(classmate)}, blank=True),
        Pupil(
            "forger_breaks_dump",
            0,
            cells={
                "sum-grads": _writes(public) + "\n\ndef dump_answers(notebook, namespace):\n    raise "
                "RuntimeError('disk full')\n"
            },
            blank=True,
        ),
        Pupil(
            "forger_skips_dump",
            0,
            cells={"sum-grads": _writes(public) + "dump_answers = lambda notebook, namespace: None\n"},
            blank=True,
        ),
        Pupil(
            "forger_prints_saved",
            0,
            cells={
                "sum-grads": _writes(public) + "dump_answers = lambda notebook, namespace: print("
                f"'saved 6 of 6 answers to {NOTEBOOK}.answer.json')\n"
            },
            blank=True,
        ),
        Pupil(
            "forger_deletes_dump",
            0,
            cells={"sum-grads": _writes(classmate)},
            drop=("dump-answers",),
            blank=True,
        ),
    ]
    submissions = write_submissions(root, pupils)
    # The last forger adds a cell of their own after the dump cell, which rewrites the file it wrote.
    overwrites = student_notebook(blank=True)
    dump = next(
        i
        for i, cell in enumerate(overwrites.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "dump-answers"
    )
    overwrites.cells.insert(dump + 1, nbformat.v4.new_code_cell(_writes(classmate)))
    folder = submissions / "forger_overwrites" / NOTEBOOK
    folder.mkdir(parents=True)
    nbformat.write(overwrites, folder / f"{NOTEBOOK}.ipynb")
    return submissions


@pytest.fixture(scope="module")
def hidden_class(
    tmp_path_factory: pytest.TempPathFactory, executed_instances: dict[tuple[str, int], Execution | Exception]
) -> HiddenClass:
    sandbox_or_skip()
    secret = _secret_apart()
    honest_run = executed_instances[(NOTEBOOK, hidden_instance(secret, NOTEBOOK, HONEST, POOL))]
    assert not isinstance(honest_run, Exception) and honest_run.answer_json is not None
    root = tmp_path_factory.mktemp("hidden")
    submissions = _write_class(root / "submissions", honest_run.answer_json.decode())
    course = root / "course"
    report = grade_class(
        submissions, course, jobs=2, limits=Limits(CELL_TIMEOUT), instances=POOL, instance_secret=secret
    )
    rows = {row["student_id"]: row for row in csv.DictReader(report.grades_csv.open(encoding="utf-8"))}
    earned = {}
    for row in report.rows:
        graded = grade_answer_file(
            NOTEBOOK,
            find_answer_file(course / "autograded" / row.student.id / NOTEBOOK, NOTEBOOK),
            load_answers(reference_path(course / "grading", NOTEBOOK, row.instance)),
        )
        earned[row.student.id] = {result.key: result.earned for result in graded.results}
    feedback = (course / "feedback" / HONEST / NOTEBOOK / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    return HiddenClass(rows, earned, report.report_txt.read_text(encoding="utf-8"), feedback, course)


def test_the_honest_student_keeps_full_marks_on_a_hidden_instance(hidden_class: HiddenClass) -> None:
    row = hidden_class.rows[HONEST]
    assert (row["score"], row["recomputed_score"], row["audit"]) == ("7", "7", "")
    assert "fresh instance of the same problem" in hidden_class.feedback


def test_every_student_is_graded_on_a_hidden_instance_and_the_report_says_so(
    hidden_class: HiddenClass,
) -> None:
    instances = {student: int(row["instance"]) for student, row in hidden_class.rows.items()}
    assert set(instances.values()) <= set(range(1, POOL + 1))
    assert all(instances[student] != instances[HONEST] for student in ON_ANOTHER_INSTANCE)
    assert f"hidden instance 1-{POOL} per notebook" in hidden_class.report
    assert "c.ClassGrader.instance_secret" in hidden_class.report
    # Only the instances the class needs were made, in the course folder.
    made = sorted(path.name for path in (hidden_class.course / "grading" / "references" / NOTEBOOK).iterdir())
    assert made == [reference_path(Path(), NOTEBOOK, k).name for k in sorted(set(instances.values()))]


def test_no_copier_or_forger_earns_an_instance_dependent_point(hidden_class: HiddenClass) -> None:
    free = instance_free_keys(NOTEBOOK)
    for student, earned in hidden_class.earned.items():
        if student == HONEST:
            continue
        dependent = {key: points for key, points in earned.items() if key not in free and points}
        assert dependent == {}, student
        assert float(hidden_class.rows[student]["score"]) == sum(earned.values()), student


def test_the_audit_flags_every_forgery_and_only_forgeries(hidden_class: HiddenClass) -> None:
    for student, row in hidden_class.rows.items():
        if student in FORGERS:
            assert FORGERS[student] in row["audit"] and NOT_ITS_OWN in row["audit"], (student, row["audit"])
        else:
            assert NOT_ITS_OWN not in row["audit"], (student, row["audit"])
