"""Problem instances (graders.core.instances): every solution solves every instance, and the grade depends on
it.

At least 80 % of each notebook's points must come from keys whose answers change with the instance, so
a copy of the public answers (or a classmate's) cannot earn them on a hidden instance.
"""

import pytest
from conftest import TEST_INSTANCES, chosen_solutions
from grading_helpers import scores

from graders.core.grading import load_reference
from graders.core.instances import INSTANCE_VARIABLE, PUBLIC_INSTANCE, instance, instance_generator
from graders.core.loader import loads_answers
from graders.core.specs import instance_free_keys, specs_for

NOTEBOOKS = [path.stem for path in chosen_solutions()]
# The share of a notebook's points that must depend on the instance.
INSTANCE_DEPENDENT_SHARE = 0.8


def test_the_public_instance_is_the_default_and_a_bad_number_is_named(monkeypatch):
    monkeypatch.delenv(INSTANCE_VARIABLE, raising=False)
    assert instance("00_autograd") == PUBLIC_INSTANCE
    monkeypatch.setenv(INSTANCE_VARIABLE, "3")
    assert instance("00_autograd") == 3
    monkeypatch.setenv(INSTANCE_VARIABLE, "-1")
    with pytest.raises(ValueError, match="GRADERS_INSTANCE='-1' is not an instance number"):
        instance("00_autograd")


def test_each_notebook_and_instance_draws_its_own_numbers():
    draws = {
        (notebook, number): tuple(instance_generator(notebook, number).integers(0, 2**31, 4))
        for notebook in ("00_autograd", "05_matrix_inverse")
        for number in (0, 1, 2)
    }
    assert len(set(draws.values())) == len(draws)
    assert tuple(instance_generator("00_autograd", 1).integers(0, 2**31, 4)) == draws["00_autograd", 1]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_at_least_80_percent_of_the_points_depend_on_the_instance(notebook):
    specs = specs_for(notebook)
    free = instance_free_keys(notebook)
    assert free <= specs.keys(), f"INSTANCE_FREE names keys {notebook} does not grade"
    dependent = sum(spec.points for key, spec in specs.items() if key not in free)
    assert dependent >= INSTANCE_DEPENDENT_SHARE * sum(spec.points for spec in specs.values())


@pytest.mark.parametrize("number", TEST_INSTANCES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_solution_solves_a_hidden_instance_where_the_public_answers_earn_nothing(
    executed_instances, notebook, number
):
    run = executed_instances[notebook, number]
    assert not isinstance(run, Exception), f"{notebook} fails on instance {number}: {run}"
    assert run.answer_json is not None, f"{notebook} wrote no answer file on instance {number}"
    hidden = loads_answers(run.answer_json)
    assert set(scores(notebook, hidden, expected=hidden).values()) == {1.0}
    public = load_reference(notebook)
    copied = scores(notebook, public, expected=hidden)
    earned = sorted(
        key for key, share in copied.items() if share > 0 and key not in instance_free_keys(notebook)
    )
    assert not earned, f"the public answers still earn {earned} on instance {number}: do they vary with it?"
