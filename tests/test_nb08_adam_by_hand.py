"""Notebook 08: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

Each mistaken answer is the notebook's hand-written Adam with one thing changed; torch.optim.Adam and a
float32 copy are the legitimate variants.
"""

import functools

import numpy as np
import pytest
import torch
from grading_helpers import (
    TRAJECTORY_FORMS,
    GradedInstance,
    case_fixture,
)

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb08_adam_by_hand import GRADIENT_DECADES, adam_problem

NOTEBOOK = "08_adam_by_hand"
LEARNING_RATE, STEPS = 0.5, 100
EPSILONS = (1e-8, 1e-3, 1.0)
LESSON_INSTANCES = range(8)


def function_skewed(variable: torch.Tensor) -> torch.Tensor:
    gamma = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=variable.dtype) @ torch.tensor(
        [[1.0, 0.0], [0.0, 4.0]], dtype=variable.dtype
    )
    return 10 * (variable @ (gamma @ variable))


def adam_step(
    x: torch.Tensor,
    gradient: torch.Tensor,
    state: dict,
    lr: float,
    eps: float = 1e-8,
    bias_correction: bool = True,
    swapped: bool = False,
    eps_inside: bool = False,
    no_sqrt: bool = False,
    step_from_zero: bool = False,
) -> None:
    """The notebook's step; each flag makes one typical mistake."""
    beta1, beta2 = (0.999, 0.9) if swapped else (0.9, 0.999)
    state["step"] += 1
    state["m"] = beta1 * state["m"] + (1 - beta1) * gradient
    state["s"] = beta2 * state["s"] + (1 - beta2) * gradient**2
    m_hat, s_hat = state["m"], state["s"]
    if bias_correction:
        # Counting from 0 divides by 1 − β⁰ = 0 at the first step; a student would then see NaN, so
        # the realistic slip is the exponent k + 1.
        k = state["step"] + (1 if step_from_zero else 0)
        m_hat, s_hat = m_hat / (1 - beta1**k), s_hat / (1 - beta2**k)
    denominator = s_hat if no_sqrt else (s_hat + eps).sqrt() if eps_inside else s_hat.sqrt() + eps
    x -= lr * m_hat / denominator


@functools.cache
def run_adam(
    start: tuple[float, ...],
    number_steps: int,
    dtype: torch.dtype = torch.float64,
    library: bool = False,
    **mistake,
) -> tuple[torch.Tensor, ...]:
    x = torch.tensor(start, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=LEARNING_RATE) if library else None
    state = {"step": 0, "m": torch.zeros_like(x), "s": torch.zeros_like(x)}
    points = []
    for _ in range(number_steps):
        if optimizer:
            optimizer.zero_grad()
        function_skewed(x).backward()
        if optimizer:
            optimizer.step()
        else:
            with torch.no_grad():
                adam_step(x, x.grad, state, LEARNING_RATE, **mistake)
            x.grad.zero_()
        points.append(x.detach().clone())
    return tuple(points)


def eps_steps(gradient: list[float], **mistake) -> list[list[float]]:
    rows = []
    for eps in EPSILONS:
        x = torch.zeros(4, dtype=torch.float64)
        state = {"step": 0, "m": 0.0, "s": 0.0}
        adam_step(x, torch.tensor(gradient, dtype=torch.float64), state, 1.0, eps, **mistake)
        rows.append((-x).tolist())
    return rows


def first_step_ratio(start: tuple[float, ...], origin: tuple[float, ...] | None = None) -> float:
    """‖first uncorrected step‖ / ‖first corrected step‖, both measured from origin (default: start)."""
    origin = np.asarray(start if origin is None else origin)
    corrected = np.asarray(run_adam(start, 1)[0])
    uncorrected = np.asarray(run_adam(start, 1, bias_correction=False)[0])
    return float(np.linalg.norm(uncorrected - origin) / np.linalg.norm(corrected - origin))


class Case(GradedInstance):
    """One instance: its problem, its reference answers, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        problem = adam_problem(number)
        self.start, self.gradient = tuple(problem.start), problem.gradient


case = case_fixture(Case)


def test_the_public_instance_is_the_notebooks_problem_and_the_others_differ():
    assert adam_problem(PUBLIC_INSTANCE) == ([8.0, 8.0], [1e-6, 1e-3, 1.0, 1e3])
    starts = {tuple(adam_problem(number).start) for number in LESSON_INSTANCES}
    assert len(starts) == len(LESSON_INSTANCES)


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_teaches_the_same_lesson(number):
    problem = adam_problem(number)
    start = tuple(problem.start)
    # The start is well inside the plotted ±12, every gradient component nonzero (a sign step moves both).
    assert all(4 <= abs(value) <= 10 for value in start)
    first = np.asarray(run_adam(start, 1)[0]) - np.asarray(start)
    assert np.allclose(np.abs(first), LEARNING_RATE)
    # 100 steps end near the minimum, as on the public instance.
    assert np.linalg.norm(np.asarray(run_adam(start, STEPS)[-1])) < 0.05 * np.linalg.norm(start)
    # One gradient coordinate in each decade: ε = 1e-8 normalises them all, 1e-3 the last two and 1 only the
    # last, and the coordinate as large as ε is in between.
    for value, decade in zip(problem.gradient, GRADIENT_DECADES, strict=True):
        assert 10.0**decade <= value < 10.0 ** (decade + 1)
    rows = np.array(eps_steps(problem.gradient))
    assert rows[0].min() > 0.99
    assert rows[1, 0] < 0.01 and 0.1 < rows[1, 1] < 0.9 and rows[1, 2:].min() > 0.99
    assert rows[2, :2].max() < 0.01 and 0.1 < rows[2, 2] < 0.9 and rows[2, 3] > 0.99


def test_the_reference_scores_full_marks(case):
    assert set(case.scores().values()) == {1.0}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"library": True}, id="torch.optim.Adam"),
        pytest.param({"dtype": torch.float32}, id="float32 by hand"),
        pytest.param({"dtype": torch.float32, "library": True}, id="float32 torch.optim.Adam"),
    ],
)
def test_legitimate_adam_paths_score_full_marks(case, options):
    assert case.scores(adam_path=list(run_adam(case.start, STEPS, **options)))["adam_path"] == 1.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_paths_score_full_marks(case, convert):
    got = case.scores(
        adam_path=convert(list(run_adam(case.start, STEPS))),
        uncorrected_path=convert(list(run_adam(case.start, 20, bias_correction=False))),
    )
    assert (got["adam_path"], got["uncorrected_path"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"bias_correction": False}, id="no bias correction"),
        pytest.param({"swapped": True}, id="betas swapped"),
        pytest.param({"no_sqrt": True}, id="no square root"),
        pytest.param({"step_from_zero": True}, id="exponent k + 1"),
    ],
)
def test_mistaken_adam_paths_fail_from_the_first_steps(case, mistake):
    path = list(run_adam(case.start, STEPS, **mistake))
    assert case.scores(adam_path=path)["adam_path"] < 0.1
    said = case.messages(adam_path=path)["adam_path"]
    assert "first difference at step" in said and "1 − β₁^k" in said


def test_eps_inside_the_square_root_is_invisible_on_the_bowl_but_caught_by_eps_steps(case):
    # Its gradients are far above √ε = 1e-4 on the bowl: the path cannot tell, so task 3 asks.
    assert case.scores(adam_path=list(run_adam(case.start, STEPS, eps_inside=True)))["adam_path"] == 1
    mistaken = eps_steps(case.gradient, eps_inside=True)
    assert case.scores(eps_steps=mistaken)["eps_steps"] == 0.0
    assert "outside the square root" in case.messages(eps_steps=mistaken)["eps_steps"]


def test_the_uncorrected_path_with_the_correction_fails(case):
    path = list(run_adam(case.start, 20))
    assert case.scores(uncorrected_path=path)["uncorrected_path"] == 0.0
    assert "without dividing by 1 − β^k" in case.messages(uncorrected_path=path)["uncorrected_path"]


def test_an_uncorrected_path_of_the_wrong_length_fails_and_says_so(case):
    path = list(run_adam(case.start, STEPS, bias_correction=False))
    assert case.scores(uncorrected_path=path)["uncorrected_path"] < 1.0
    assert "you recorded 100 steps, expected 20" in case.messages(uncorrected_path=path)["uncorrected_path"]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda ratio: ratio, id="recomputed"),
        pytest.param(lambda ratio: 0.1 / 0.001**0.5, id="closed form"),
        pytest.param(np.float32, id="float32"),
        pytest.param(torch.tensor, id="tensor"),
    ],
)
def test_legitimate_first_step_ratios_score_full_marks(case, form):
    value = form(first_step_ratio(case.start))
    assert case.scores(first_step_ratio=value)["first_step_ratio"] == 1.0


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda start: 1 / first_step_ratio(start), id="inverted"),
        pytest.param(lambda start: first_step_ratio(start, origin=(0.0, 0.0)), id="measured from the origin"),
        pytest.param(lambda start: 1.0, id="no difference"),
    ],
)
def test_mistaken_first_step_ratios_fail(case, mistake):
    value = mistake(case.start)
    assert case.scores(first_step_ratio=value)["first_step_ratio"] == 0.0
    assert "START" in case.messages(first_step_ratio=value)["first_step_ratio"]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda rows, gradient: rows, id="recomputed"),
        pytest.param(
            lambda rows, gradient: [[g / (g + eps) for g in gradient] for eps in EPSILONS],
            id="closed form g/(|g| + ε)",
        ),
        pytest.param(lambda rows, gradient: torch.tensor(rows, dtype=torch.float32), id="float32 tensor"),
        pytest.param(lambda rows, gradient: np.array(rows), id="array"),
    ],
)
def test_legitimate_eps_steps_score_full_marks(case, form):
    value = form(eps_steps(case.gradient), case.gradient)
    assert case.scores(eps_steps=value)["eps_steps"] == 1.0


def test_the_new_x_instead_of_the_step_is_diagnosed_as_a_sign_error(case):
    value = (-np.array(eps_steps(case.gradient))).tolist()
    assert case.scores(eps_steps=value)["eps_steps"] == 0.0
    assert "sign is flipped" in case.messages(eps_steps=value)["eps_steps"]


def test_eps_steps_transposed_are_named(case):
    value = np.array(eps_steps(case.gradient)).T
    assert case.scores(eps_steps=value)["eps_steps"] == 0.0
    assert "wrong shape" in case.messages(eps_steps=value)["eps_steps"]
