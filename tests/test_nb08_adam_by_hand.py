"""Notebook 08: the grader accepts legitimate forms of the answers and catches the typical mistakes.

Each mistaken answer is the notebook's hand-written Adam with one thing changed; torch.optim.Adam and a
float32 copy are the legitimate variants.
"""

import functools

import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, messages, reference, scores, variant

NOTEBOOK = "08_adam_by_hand"
START, LEARNING_RATE, STEPS = (8.0, 8.0), 0.5, 100
EPSILONS = (1e-8, 1e-3, 1.0)
GRADIENT = (1e-6, 1e-3, 1.0, 1e3)


def function_skewed(variable: torch.Tensor) -> torch.Tensor:
    gramma = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=variable.dtype) @ torch.tensor(
        [[1.0, 0.0], [0.0, 4.0]], dtype=variable.dtype
    )
    return 10 * (variable @ (gramma @ variable))


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
def run_adam(number_steps: int, dtype: torch.dtype = torch.float64, library: bool = False, **mistake):
    x = torch.tensor(START, dtype=dtype, requires_grad=True)
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


def eps_steps(**mistake) -> list[list[float]]:
    rows = []
    for eps in EPSILONS:
        x = torch.zeros(4, dtype=torch.float64)
        adam_step(
            x,
            torch.tensor(GRADIENT, dtype=torch.float64),
            {"step": 0, "m": 0.0, "s": 0.0},
            1.0,
            eps,
            **mistake,
        )
        rows.append((-x).tolist())
    return rows


def first_step_ratio(corrected=None, uncorrected=None, origin=START) -> float:
    start = np.asarray(origin)
    corrected = run_adam(1)[0] if corrected is None else corrected
    uncorrected = run_adam(1, bias_correction=False)[0] if uncorrected is None else uncorrected
    return float(
        np.linalg.norm(np.asarray(uncorrected) - start) / np.linalg.norm(np.asarray(corrected) - start)
    )


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"library": True}, id="torch.optim.Adam"),
        pytest.param({"dtype": torch.float32}, id="float32 by hand"),
        pytest.param({"dtype": torch.float32, "library": True}, id="float32 torch.optim.Adam"),
    ],
)
def test_legitimate_adam_paths_score_full_marks(options):
    answers = variant(NOTEBOOK, adam_path=list(run_adam(STEPS, **options)))
    assert scores(NOTEBOOK, answers)["adam_path"] == 1.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_paths_score_full_marks(convert):
    answers = variant(
        NOTEBOOK,
        adam_path=convert(list(run_adam(STEPS))),
        uncorrected_path=convert(list(run_adam(20, bias_correction=False))),
    )
    got = scores(NOTEBOOK, answers)
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
def test_mistaken_adam_paths_fail_from_the_first_steps(mistake):
    answers = variant(NOTEBOOK, adam_path=list(run_adam(STEPS, **mistake)))
    assert scores(NOTEBOOK, answers)["adam_path"] < 0.1
    said = messages(NOTEBOOK, answers)["adam_path"]
    assert "first difference at step" in said and "1 − β₁^k" in said


def test_eps_inside_the_square_root_is_invisible_on_the_bowl_but_caught_by_eps_steps():
    # Its gradients are far above √ε = 1e-4 on the bowl: the path cannot tell, so task 3 asks.
    assert (
        scores(NOTEBOOK, variant(NOTEBOOK, adam_path=list(run_adam(STEPS, eps_inside=True))))["adam_path"]
        == 1
    )
    answers = variant(NOTEBOOK, eps_steps=eps_steps(eps_inside=True))
    assert scores(NOTEBOOK, answers)["eps_steps"] == 0.0
    assert "outside the square root" in messages(NOTEBOOK, answers)["eps_steps"]


def test_the_uncorrected_path_with_the_correction_fails():
    answers = variant(NOTEBOOK, uncorrected_path=list(run_adam(20)))
    assert scores(NOTEBOOK, answers)["uncorrected_path"] == 0.0
    assert "without dividing by 1 − β^k" in messages(NOTEBOOK, answers)["uncorrected_path"]


def test_an_uncorrected_path_of_the_wrong_length_fails_and_says_so():
    answers = variant(NOTEBOOK, uncorrected_path=list(run_adam(STEPS, bias_correction=False)))
    assert scores(NOTEBOOK, answers)["uncorrected_path"] < 1.0
    assert "you recorded 100 steps, expected 20" in messages(NOTEBOOK, answers)["uncorrected_path"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(first_step_ratio(), id="recomputed"),
        pytest.param(0.1 / 0.001**0.5, id="closed form"),
        pytest.param(np.float32(first_step_ratio()), id="float32"),
        pytest.param(torch.tensor(first_step_ratio()), id="tensor"),
    ],
)
def test_legitimate_first_step_ratios_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, first_step_ratio=value))["first_step_ratio"] == 1.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1 / first_step_ratio(), id="inverted"),
        pytest.param(first_step_ratio(origin=(0.0, 0.0)), id="lengths measured from the origin"),
        pytest.param(1.0, id="no difference"),
    ],
)
def test_mistaken_first_step_ratios_fail_and_show_the_expected_ratio(value):
    # kinds.diagnose finds "a constant factor" for any single number, so the message shows the expected
    # value rather than the spec's hint.
    answers = variant(NOTEBOOK, first_step_ratio=value)
    assert scores(NOTEBOOK, answers)["first_step_ratio"] == 0.0
    assert "expected 3.16228" in messages(NOTEBOOK, answers)["first_step_ratio"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(eps_steps(), id="recomputed"),
        pytest.param([[g / (g + eps) for g in GRADIENT] for eps in EPSILONS], id="closed form g/(|g| + ε)"),
        pytest.param(torch.tensor(eps_steps(), dtype=torch.float32), id="float32 tensor"),
        pytest.param(np.array(eps_steps()), id="array"),
    ],
)
def test_legitimate_eps_steps_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, eps_steps=value))["eps_steps"] == 1.0


def test_the_new_x_instead_of_the_step_is_diagnosed_as_a_sign_error():
    answers = variant(NOTEBOOK, eps_steps=(-np.array(eps_steps())).tolist())
    assert scores(NOTEBOOK, answers)["eps_steps"] == 0.0
    assert "sign is flipped" in messages(NOTEBOOK, answers)["eps_steps"]


def test_eps_steps_transposed_are_named():
    answers = variant(NOTEBOOK, eps_steps=np.array(eps_steps()).T)
    assert scores(NOTEBOOK, answers)["eps_steps"] == 0.0
    assert "wrong shape" in messages(NOTEBOOK, answers)["eps_steps"]
