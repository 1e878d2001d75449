"""Notebook 10: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

Finite differences are recomputed from the instance's point and step sizes with one thing changed.
"""

import functools

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb10_gradient_checking import (
    FORWARD_MARGIN,
    forward_error_ratio,
    gradient_check_problem,
)

NOTEBOOK = "10_gradient_checking"
LESSON_INSTANCES = range(8)


def f(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(3 * x) * torch.exp(x)).sum() + (x**2).prod()


def autograd_gradient(x0: tuple[float, ...], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    x = torch.tensor(x0, dtype=dtype, requires_grad=True)
    f(x).backward()
    return x.grad


def difference(
    x0: tuple[float, ...], h: float, dtype=torch.float64, forward=False, denominator=2.0, in_place=False
) -> torch.Tensor:
    x = torch.tensor(x0, dtype=dtype)
    gradient = torch.zeros_like(x)
    for index in range(3):
        if in_place:
            # Shifting one coordinate of a copy in place, then back: the same numbers, another style.
            shifted = x.clone()
            shifted[index] += h
            plus = f(shifted)
            shifted[index] -= 2 * h
            minus = f(shifted)
        else:
            step = torch.zeros_like(x)
            step[index] = h
            plus, minus = f(x + step), f(x) if forward else f(x - step)
        gradient[index] = (plus - minus) / ((1.0 if forward else denominator) * h)
    return gradient


@functools.cache
def relative_errors(number: int, dtype: torch.dtype, absolute: bool = False, **options) -> tuple[float, ...]:
    x0, step_sizes = gradient_check_problem(number)
    reference_gradient = autograd_gradient(tuple(x0))
    errors = []
    for h in step_sizes:
        deviation = (difference(tuple(x0), h, dtype, **options).double() - reference_gradient).abs().max()
        errors.append((deviation if absolute else deviation / reference_gradient.abs().max()).item())
    return tuple(errors)


def best_step(number: int, errors: tuple[float, ...]) -> float:
    return gradient_check_problem(number).step_sizes[int(np.argmin(errors))]


class Case(GradedInstance):
    """One instance: its point, its reference answers, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        self.x0 = tuple(gradient_check_problem(number).x0)


case = case_fixture(Case)


def test_the_public_instance_is_the_notebooks_problem_and_the_others_differ():
    public = gradient_check_problem(PUBLIC_INSTANCE)
    assert public == ([0.5, -1.0, 2.0], [10.0**-k for k in range(1, 13)])
    problems = [gradient_check_problem(number) for number in LESSON_INSTANCES]
    assert len({tuple(problem.x0) for problem in problems}) == len(problems)
    assert len({problem.step_sizes[0] for problem in problems}) > 1


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_teaches_the_same_lesson(number):
    x0 = tuple(gradient_check_problem(number).x0)
    if number != PUBLIC_INSTANCE:
        assert forward_error_ratio(list(x0)) >= FORWARD_MARGIN
    # Task 1: at h = 1e-6 the central difference is autograd's gradient to 1e-9, the forward one is not.
    exact = autograd_gradient(x0)
    assert torch.allclose(difference(x0, 1e-6), exact, rtol=1e-9)
    assert not torch.allclose(difference(x0, 1e-6, forward=True), exact, rtol=1e-6, atol=1e-8)
    # Task 2: the best float64 step lies near ε^(1/3) ≈ 6e-6, the float32 one a hundred times higher or
    # more, where the error is near float32's ε^(2/3) ≈ 2e-5.
    best64 = best_step(number, relative_errors(number, torch.float64))
    best32 = best_step(number, relative_errors(number, torch.float32))
    assert 1e-7 < best64 < 1e-4 and 1e-4 < best32 < 1e-2 and best32 >= 99 * best64
    assert min(relative_errors(number, torch.float64)) < 1e-9
    assert 1e-6 < min(relative_errors(number, torch.float32)) < 3e-4


def test_the_reference_scores_full_marks(case):
    assert set(case.scores().values()) == {1.0}


@pytest.mark.parametrize(
    "compute",
    [
        pytest.param(lambda x0: difference(x0, 1e-6), id="recomputed"),
        pytest.param(lambda x0: difference(x0, 1e-6, in_place=True), id="shifted in place"),
        pytest.param(lambda x0: difference(x0, 1e-5), id="h = 1e-5"),
        pytest.param(autograd_gradient, id="autograd's own gradient"),
        pytest.param(lambda x0: difference(x0, 1e-6).tolist(), id="list"),
    ],
)
def test_legitimate_gradients_score_full_marks(case, compute):
    assert case.scores(fd_gradient=compute(case.x0))["fd_gradient"] == 1.0


@pytest.mark.parametrize(
    "compute",
    [
        pytest.param(lambda x0: autograd_gradient(x0, torch.float32), id="float32 autograd"),
        pytest.param(lambda x0: autograd_gradient(x0).numpy(), id="array"),
    ],
)
def test_legitimate_autograd_gradients_score_full_marks(case, compute):
    assert case.scores(autograd_gradient=compute(case.x0))["autograd_gradient"] == 1.0


@pytest.mark.parametrize(
    "options, cause",
    [
        pytest.param({"forward": True}, "central difference, not the forward one", id="forward difference"),
        pytest.param({"dtype": torch.float32}, "in float64", id="float32"),
    ],
)
def test_mistaken_finite_differences_fail_and_name_the_cause(case, options, cause):
    value = difference(case.x0, 1e-6, **options)
    assert case.scores(fd_gradient=value)["fd_gradient"] == 0.0
    assert cause in case.messages(fd_gradient=value)["fd_gradient"]


def test_a_denominator_h_is_diagnosed_as_twice_the_reference(case):
    value = difference(case.x0, 1e-6, denominator=1.0)
    assert case.scores(fd_gradient=value)["fd_gradient"] == 0.0
    said = case.messages(fd_gradient=value)["fd_gradient"]
    assert "times 2" in said and "divided by 2h" in said


def test_recomputed_best_steps_and_error_score_full_marks(case):
    in_place = relative_errors(case.number, torch.float32, in_place=True)
    got = case.scores(
        best_step_float64=best_step(case.number, relative_errors(case.number, torch.float64)),
        best_step_float32=best_step(case.number, in_place),
        best_error_float32=min(in_place),
    )
    assert set(got.values()) == {1.0}


def test_the_float64_step_given_for_float32_fails(case):
    value = best_step(case.number, relative_errors(case.number, torch.float64))
    assert case.scores(best_step_float32=value)["best_step_float32"] == 0.0
    assert "where does rounding push" in case.messages(best_step_float32=value)["best_step_float32"].lower()


def test_a_float64_best_step_of_the_forward_difference_fails(case):
    value = best_step(case.number, relative_errors(case.number, torch.float64, forward=True))
    assert case.scores(best_step_float64=value)["best_step_float64"] == 0.0


@pytest.mark.parametrize(
    "errors",
    [
        pytest.param({"dtype": torch.float32, "absolute": True}, id="absolute error"),
        pytest.param({"dtype": torch.float64}, id="the float64 error"),
        pytest.param({"dtype": torch.float32, "forward": True}, id="forward difference"),
    ],
)
def test_mistaken_float32_errors_fail(case, errors):
    value = min(relative_errors(case.number, **errors))
    assert case.scores(best_error_float32=value)["best_error_float32"] == 0.0
