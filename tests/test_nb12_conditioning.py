"""Notebook 12: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

Everything is recomputed from the instance's seeded data with one thing changed.
"""

import functools

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb12_conditioning import conditioning_problem

NOTEBOOK = "12_conditioning"
LESSON_INSTANCES = range(8)


@functools.cache
def data(number: int) -> tuple[torch.Tensor, torch.Tensor]:
    seed, scales, shifts = conditioning_problem(number)
    generator = torch.Generator().manual_seed(seed)
    scales = torch.tensor(scales, dtype=torch.float64)
    shifts = torch.tensor(shifts, dtype=torch.float64)
    features = torch.randn(200, 3, dtype=torch.float64, generator=generator) * scales + shifts
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    return features, features @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise


def design(columns: torch.Tensor) -> torch.Tensor:
    return torch.cat([columns, torch.ones(len(columns), 1, dtype=torch.float64)], dim=1)


def eigenvalues(matrix: torch.Tensor, factor: float = 2.0) -> torch.Tensor:
    return torch.linalg.eigvalsh(factor * matrix.T @ matrix / 200)


def standardised(number: int, centre: bool = True, unbiased: bool = True) -> torch.Tensor:
    features, _ = data(number)
    shifted = features - features.mean(dim=0) if centre else features
    return design(shifted / features.std(dim=0, correction=1 if unbiased else 0))


def gd_steps(number: int, matrix: torch.Tensor, first: int = 1, numpy: bool = False) -> int:
    _, targets = data(number)
    values = eigenvalues(matrix)
    step = 2 / (values[0] + values[-1]).item()
    best = torch.linalg.lstsq(matrix, targets[:, None], driver="gelsd").solution.squeeze(1)
    if numpy:
        a, t, b = matrix.numpy(), targets.numpy(), best.numpy()
        theta = np.zeros(a.shape[1])
        for count in range(first, 100_000):
            theta = theta - step * (2 / 200) * a.T @ (a @ theta - t)
            if np.linalg.norm(theta - b) <= 1e-6 * np.linalg.norm(b):
                return count
    theta = torch.zeros(matrix.shape[1], dtype=torch.float64)
    for count in range(first, 100_000):
        theta = theta - step * (2 / 200) * matrix.T @ (matrix @ theta - targets)
        if torch.linalg.vector_norm(theta - best) <= 1e-6 * torch.linalg.vector_norm(best):
            return count
    raise AssertionError("no convergence")


def raw(number: int) -> torch.Tensor:
    return design(data(number)[0])


def condition_number(matrix: torch.Tensor) -> float:
    values = eigenvalues(matrix)
    return (values[-1] / values[0]).item()


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


def test_the_public_instance_is_the_notebooks_problem_and_the_others_differ():
    assert conditioning_problem(PUBLIC_INSTANCE) == (0, [1.0, 3.0, 10.0], [0.0, 0.0, 5.0])
    seeds = {conditioning_problem(number).seed for number in LESSON_INSTANCES}
    assert len(seeds) == len(LESSON_INSTANCES)


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_teaches_the_same_lesson(number):
    # The raw features are badly conditioned, as on the public instance (κ 164); standardising brings κ
    # near 1, scaling alone does not, and the step counts fall from a thousand or so to a handful.
    assert 100 < condition_number(raw(number)) < 300
    assert condition_number(standardised(number)) < 1.5
    assert condition_number(standardised(number, centre=False)) > 1.5 * condition_number(standardised(number))
    raw_steps, scaled_steps = gd_steps(number, raw(number)), gd_steps(number, standardised(number))
    assert 500 < raw_steps < 5000 and scaled_steps < 20


def test_the_reference_scores_full_marks(case):
    assert set(case.scores().values()) == {1.0}


def test_recomputed_answers_score_full_marks(case):
    number = case.number
    values = eigenvalues(raw(number))
    low, high = values[0].item(), values[-1].item()
    got = case.scores(
        hessian_eigenvalues=values.numpy(),
        optimal_step=2 / (high + low),
        optimal_rate=(high / low - 1) / (high / low + 1),
        gd_steps_raw_scaled=[
            gd_steps(number, raw(number), numpy=True),
            gd_steps(number, standardised(number), numpy=True),
        ],
        scaled_condition_number=condition_number(standardised(number)),
    )
    assert set(got.values()) == {1.0}


def test_an_svd_gives_the_same_eigenvalues(case):
    singular = torch.linalg.svdvals(raw(case.number))
    value = (2 * singular**2 / 200).flip(0)
    assert case.scores(hessian_eigenvalues=value)["hessian_eigenvalues"] == 1.0


def test_eigenvalues_without_the_factor_2_are_named(case):
    value = eigenvalues(raw(case.number), factor=1.0)
    assert case.scores(hessian_eigenvalues=value)["hessian_eigenvalues"] == 0.0
    assert "the factor 2" in case.messages(hessian_eigenvalues=value)["hessian_eigenvalues"]


def test_eigenvalues_in_descending_order_fail(case):
    value = eigenvalues(raw(case.number)).flip(0)
    assert case.scores(hessian_eigenvalues=value)["hessian_eigenvalues"] == 0.0
    assert "ascending" in case.messages(hessian_eigenvalues=value)["hessian_eigenvalues"]


def test_the_eigenvalues_of_a_a_transpose_have_the_wrong_shape(case):
    matrix = raw(case.number)
    value = torch.linalg.eigvalsh(2 * matrix @ matrix.T / 200)
    assert case.scores(hessian_eigenvalues=value)["hessian_eigenvalues"] == 0.0
    assert "wrong shape" in case.messages(hessian_eigenvalues=value)["hessian_eigenvalues"]


@pytest.mark.parametrize(
    "key, value, cause",
    [
        pytest.param("optimal_step", "1/max", "rather than being 1/λmax", id="step 1/λmax"),
        pytest.param("optimal_rate", "1-1/kappa", "not that of the step 1/λmax", id="rate of 1/λmax"),
        pytest.param("optimal_rate", "halved", None, id="rate without the factor 2 (still right)"),
    ],
)
def test_mistaken_steps_and_rates_fail_and_name_the_cause(case, key, value, cause):
    values = eigenvalues(raw(case.number))
    low, high = values[0].item(), values[-1].item()
    wrong = {
        "1/max": 1 / high,
        "1-1/kappa": 1 - low / high,
        # Halving every eigenvalue leaves κ, hence the rate, unchanged: this one is still right.
        "halved": (high - low) / (high + low),
    }[value]
    if value == "halved":
        assert case.scores(**{key: wrong})[key] == 1.0
        return
    assert case.scores(**{key: wrong})[key] == 0.0
    assert cause in case.messages(**{key: wrong})[key]


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(
            lambda n: [gd_steps(n, raw(n)), gd_steps(n, standardised(n, centre=False))],
            id="scaled but not centred",
        ),
        pytest.param(
            lambda n: [gd_steps(n, raw(n), first=0), gd_steps(n, standardised(n), first=0)],
            id="counted from 0",
        ),
        pytest.param(lambda n: [gd_steps(n, standardised(n)), gd_steps(n, raw(n))], id="swapped"),
    ],
)
def test_mistaken_step_counts_fail_and_say_why(case, counts):
    value = counts(case.number)
    assert case.scores(gd_steps_raw_scaled=value)["gd_steps_raw_scaled"] == 0.0
    assert "centred as well as scaled" in case.messages(gd_steps_raw_scaled=value)["gd_steps_raw_scaled"]


def test_the_population_standard_deviation_scores_full_marks(case):
    # std with correction=0 rescales every column by the same √(200/199): the condition number stays.
    population = standardised(case.number, unbiased=False)
    got = case.scores(
        gd_steps_raw_scaled=[gd_steps(case.number, raw(case.number)), gd_steps(case.number, population)],
        scaled_condition_number=condition_number(population),
    )
    assert (got["gd_steps_raw_scaled"], got["scaled_condition_number"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "matrix",
    [
        pytest.param(lambda n: standardised(n, centre=False), id="scaled but not centred"),
        pytest.param(raw, id="the raw design's κ"),
    ],
)
def test_mistaken_scaled_condition_numbers_fail(case, matrix):
    value = condition_number(matrix(case.number))
    assert case.scores(scaled_condition_number=value)["scaled_condition_number"] == 0.0
    said = case.messages(scaled_condition_number=value)["scaled_condition_number"]
    assert "centred as well as scaled" in said
