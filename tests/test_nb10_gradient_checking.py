"""Notebook 10: the grader accepts legitimate forms of the answers and catches the typical mistakes.

Finite differences are recomputed from the notebook's function with one thing changed.
"""

import numpy as np
import pytest
import torch
from grading_helpers import messages, reference, scores, variant

NOTEBOOK = "10_gradient_checking"
X0 = (0.5, -1.0, 2.0)
STEP_SIZES = [10.0**-k for k in range(1, 13)]


def f(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(3 * x) * torch.exp(x)).sum() + (x**2).prod()


def autograd_gradient(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    x = torch.tensor(X0, dtype=dtype, requires_grad=True)
    f(x).backward()
    return x.grad


def difference(h: float, dtype=torch.float64, forward=False, denominator=2.0, in_place=False) -> torch.Tensor:
    x = torch.tensor(X0, dtype=dtype)
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


def relative_errors(dtype, absolute=False, **options) -> list[float]:
    reference_gradient = autograd_gradient()
    errors = []
    for h in STEP_SIZES:
        deviation = (difference(h, dtype, **options).double() - reference_gradient).abs().max()
        errors.append((deviation if absolute else deviation / reference_gradient.abs().max()).item())
    return errors


def best_step(errors: list[float]) -> float:
    return STEP_SIZES[int(np.argmin(errors))]


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(difference(1e-6), id="recomputed"),
        pytest.param(difference(1e-6, in_place=True), id="shifted in place"),
        pytest.param(difference(1e-5), id="h = 1e-5"),
        pytest.param(autograd_gradient(), id="autograd's own gradient"),
        pytest.param(difference(1e-6).tolist(), id="list"),
    ],
)
def test_legitimate_gradients_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, fd_gradient=value))["fd_gradient"] == 1.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(autograd_gradient(torch.float32), id="float32 autograd"),
        pytest.param(autograd_gradient().numpy(), id="array"),
    ],
)
def test_legitimate_autograd_gradients_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, autograd_gradient=value))["autograd_gradient"] == 1.0


@pytest.mark.parametrize(
    "value, cause",
    [
        pytest.param(difference(1e-6, forward=True), "central, not forward", id="forward difference"),
        pytest.param(difference(1e-6, dtype=torch.float32), "in float64", id="float32"),
    ],
)
def test_mistaken_finite_differences_fail_and_name_the_cause(value, cause):
    answers = variant(NOTEBOOK, fd_gradient=value)
    assert scores(NOTEBOOK, answers)["fd_gradient"] == 0.0
    assert cause in messages(NOTEBOOK, answers)["fd_gradient"]


def test_a_denominator_h_is_diagnosed_as_twice_the_reference():
    answers = variant(NOTEBOOK, fd_gradient=difference(1e-6, denominator=1.0))
    assert scores(NOTEBOOK, answers)["fd_gradient"] == 0.0
    said = messages(NOTEBOOK, answers)["fd_gradient"]
    assert "times 2" in said and "divided by 2h" in said


def test_recomputed_best_steps_and_error_score_full_marks():
    answers = variant(
        NOTEBOOK,
        best_step_float64=best_step(relative_errors(torch.float64)),
        best_step_float32=best_step(relative_errors(torch.float32, in_place=True)),
        best_error_float32=min(relative_errors(torch.float32, in_place=True)),
    )
    assert set(scores(NOTEBOOK, answers).values()) == {1.0}


def test_the_best_steps_follow_the_theory():
    assert best_step(relative_errors(torch.float64)) == 1e-6
    assert best_step(relative_errors(torch.float32)) == 1e-3


def test_the_float64_step_given_for_float32_fails():
    answers = variant(NOTEBOOK, best_step_float32=1e-6)
    assert scores(NOTEBOOK, answers)["best_step_float32"] == 0.0
    assert "rounding pushes it far above" in messages(NOTEBOOK, answers)["best_step_float32"]


def test_a_float64_best_step_of_the_forward_difference_fails():
    answers = variant(NOTEBOOK, best_step_float64=best_step(relative_errors(torch.float64, forward=True)))
    assert scores(NOTEBOOK, answers)["best_step_float64"] == 0.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(min(relative_errors(torch.float32, absolute=True)), id="absolute error"),
        pytest.param(min(relative_errors(torch.float64)), id="the float64 error"),
        pytest.param(min(relative_errors(torch.float32, forward=True)), id="forward difference"),
    ],
)
def test_mistaken_float32_errors_fail(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, best_error_float32=value))["best_error_float32"] == 0.0
