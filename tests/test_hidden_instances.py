"""Hidden instances at grading (issue 17): how each student's instance is chosen, and a class graded on
hidden instances where copied, hard-coded and forged answers earn no instance-dependent point."""

import stat
from collections import Counter
from pathlib import Path

import pytest

from graders.hidden_instances import SECRET_FILE, hidden_instance, instance_plan
from graders.instances import PUBLIC_INSTANCE
from graders.paths import answers_dir
from graders.references import reference_path, solution_digest

NOTEBOOK = "00_autograd"
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
