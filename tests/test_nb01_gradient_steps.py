"""Notebook 01: the grader accepts legitimate forms of the answers and catches the typical mistakes, on
the public problem and on a hidden instance alike; every instance keeps the lesson.

Mistaken answers are recomputed in float64 numpy from an instance's problem
(graders.core.problems.nb01_gradient_steps) with one thing changed, and graded against that instance's
reference, so each test shows that the grader tells that mistake apart from the reference.
"""

import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, GradedInstance, case_fixture

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb01_gradient_steps import problem

NOTEBOOK = "01_gradient_steps"
LEARNING_RATE = 0.001
SKEWED_STEPS = 500
LESSON_INSTANCES = range(8)
# The public stretched bowl's condition number is about 12; every instance stays near it.
CONDITION_NUMBERS = (9.0, 16.0)
# The explorer's default learning rate (show_skewed_trajectory), which must converge without oscillating.
EXPLORER_LEARNING_RATE = 0.005


class Instance(GradedInstance):
    notebook = NOTEBOOK
    problem_of = problem

    @property
    def gamma(self) -> np.ndarray:
        return np.array(self.problem.gamma)


case = case_fixture(Instance)


def hessian(gamma: np.ndarray) -> np.ndarray:
    """The stretched bowl's curvature: only Γ's symmetric part counts."""
    return 10 * (gamma + gamma.T)


def descend(
    gradient, start, steps, learning_rate=LEARNING_RATE, ascent=False, zero_grad=True
) -> list[np.ndarray]:
    """Points x_0 … x_steps of hand-written gradient steps; ascent flips the sign, no zeroing accumulates."""
    point = np.array(start, dtype=np.float64)
    accumulated = np.zeros_like(point)
    points = [point.copy()]
    for _ in range(steps):
        accumulated = gradient(point) + (0 if zero_grad else accumulated)
        point = point + (1 if ascent else -1) * learning_rate * accumulated
        points.append(point.copy())
    return points


def skewed_histories(case: Instance, record_after_step=False, **mistake) -> dict[str, list]:
    """var_history_2 / fn_history_2 of 500 steps, recorded before each step (or, mistakenly, after)."""
    gamma = case.gamma
    points = descend(lambda v: hessian(gamma) @ v, case.problem.start, SKEWED_STEPS, **mistake)
    recorded = points[1:] if record_after_step else points[:-1]
    return {"var_history_2": recorded, "fn_history_2": [float(10 * v @ (gamma @ v)) for v in recorded]}


def parabola_first_steps(case: Instance, **mistake) -> list[np.ndarray]:
    return descend(lambda point: 20 * point, case.problem.start, 3, **mistake)[1:]


def theta_results(case: Instance, learning_rates=None, **mistake) -> list[float]:
    """theta_autograd for the instance's settings; `learning_rates` replaces the settings' own."""
    settings = case.problem.theta_settings
    rates = learning_rates or [rate for _, rate, _ in settings]
    return [
        float(descend(lambda theta: 2 * theta, [start], count, rate, **mistake)[-1][0])
        for (start, _, count), rate in zip(settings, rates, strict=True)
    ]


def stable_limit(curvature: np.ndarray) -> float:
    return float(2 / np.linalg.eigvalsh(curvature).max())


def test_reference_scores_full_marks(case):
    assert set(case.scores(case.expected).values()) == {1.0}


def test_float64_recomputation_scores_full_marks(case):
    answers = case.variant(
        parabola_first_steps=parabola_first_steps(case),
        theta_autograd=theta_results(case),
        max_stable_lr=2 / 20,
        max_stable_lr_skewed=stable_limit(hessian(case.gamma)),
        **skewed_histories(case),
    )
    assert set(case.scores(answers).values()) == {1.0}


def test_the_limit_from_autograds_hessian_scores_full_marks(case):
    gamma = torch.tensor(case.problem.gamma, dtype=torch.float64)
    curvature = torch.autograd.functional.hessian(lambda v: 10 * (v @ (gamma @ v)), torch.zeros(2).double())
    answers = case.variant(max_stable_lr_skewed=2 / torch.linalg.eigvalsh(curvature).max().item())
    assert case.scores(answers)["max_stable_lr_skewed"] == 1.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_trajectories_score_full_marks(case, convert):
    histories = skewed_histories(case)
    answers = case.variant(
        parabola_first_steps=convert(parabola_first_steps(case)),
        var_history_2=convert(histories["var_history_2"]),
        fn_history_2=convert(histories["fn_history_2"]),
    )
    got = case.scores(answers)
    assert got["parabola_first_steps"] == got["var_history_2"] == got["fn_history_2"] == 1.0


@pytest.mark.parametrize(
    "value", [0.1, np.float32(0.1), [0.1], torch.tensor(0.1), torch.tensor([0.1], dtype=torch.float64)]
)
def test_legitimate_forms_of_a_scalar_score_full_marks(case, value):
    assert case.scores(case.variant(max_stable_lr=value))["max_stable_lr"] == 1.0


def test_recording_after_the_step_is_diagnosed_as_one_step_ahead(case):
    answers = case.variant(**skewed_histories(case, record_after_step=True))
    got, said = case.scores(answers), case.messages(answers)
    for key in ("var_history_2", "fn_history_2"):
        assert got[key] == 0.0
        assert "one step ahead" in said[key]


def test_gradient_ascent_fails_and_the_hint_names_the_sign(case):
    answers = case.variant(
        parabola_first_steps=parabola_first_steps(case, ascent=True), **skewed_histories(case, ascent=True)
    )
    got, said = case.scores(answers), case.messages(answers)
    assert got["parabola_first_steps"] == 0.0
    assert "minus sign" in said["parabola_first_steps"]
    # Only the starting point, recorded before any step, agrees.
    assert got["var_history_2"] == got["fn_history_2"] == 1 / SKEWED_STEPS
    assert "minus sign" in said["var_history_2"]


@pytest.mark.parametrize("learning_rate", [0.01, 0.0011, 0.0001])
def test_a_wrong_learning_rate_fails(case, learning_rate):
    answers = case.variant(
        parabola_first_steps=parabola_first_steps(case, learning_rate=learning_rate),
        **skewed_histories(case, learning_rate=learning_rate),
    )
    got = case.scores(answers)
    assert got["parabola_first_steps"] == 0.0
    assert got["var_history_2"] <= 1 / SKEWED_STEPS
    assert got["fn_history_2"] <= 1 / SKEWED_STEPS


def test_gradients_left_to_accumulate_fail_from_the_second_step(case):
    answers = case.variant(
        parabola_first_steps=parabola_first_steps(case, zero_grad=False),
        **skewed_histories(case, zero_grad=False),
    )
    got, said = case.scores(answers), case.messages(answers)
    # Points are rounded to 4 decimals, so a share comes back to within 1e-4.
    assert got["parabola_first_steps"] == pytest.approx(1 / 3, abs=1e-4)
    assert "first difference at step 1" in said["parabola_first_steps"]
    assert got["var_history_2"] == got["fn_history_2"] == 2 / SKEWED_STEPS
    for key in ("var_history_2", "fn_history_2"):
        assert "first difference at step 2" in said[key] and "not zeroed" in said[key]


def test_history_without_a_copy_fails(case):
    # Appending x.data (a view) instead of a copy: every entry shows the final point.
    final_point = skewed_histories(case, record_after_step=True)["var_history_2"][-1]
    answers = case.variant(var_history_2=[final_point] * SKEWED_STEPS)
    assert case.scores(answers)["var_history_2"] == 0.0
    assert "append a copy" in case.messages(answers)["var_history_2"]


@pytest.mark.parametrize("length", [250, 499])
def test_a_history_of_another_length_loses_its_credit_and_says_so(case, length):
    answers = case.variant(var_history_2=skewed_histories(case)["var_history_2"][:length])
    assert case.scores(answers)["var_history_2"] == 0.0
    said = case.messages(answers)["var_history_2"]
    assert f"recorded {length} steps, expected {SKEWED_STEPS}" in said and "times 1" not in said


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda case: theta_results(case, ascent=True), id="gradient ascent"),
        pytest.param(lambda case: theta_results(case, zero_grad=False), id="gradients accumulate"),
        pytest.param(
            lambda case: theta_results(case, learning_rates=[case.problem.theta_settings[0][1]] * 2),
            id="learning rate not taken from the argument",
        ),
        pytest.param(lambda case: theta_results(case)[:1], id="only the first setting"),
    ],
)
def test_mistakes_in_the_autograd_loop_fail(case, mistake):
    assert case.scores(case.variant(theta_autograd=mistake(case)))["theta_autograd"] == 0.0


def test_one_over_lambda_max_gets_the_hint_about_how_far_alpha_lambda_may_go(case):
    answers = case.variant(max_stable_lr=1 / 20, max_stable_lr_skewed=stable_limit(hessian(case.gamma)) / 2)
    got, said = case.scores(answers), case.messages(answers)
    for key in ("max_stable_lr", "max_stable_lr_skewed"):
        assert got[key] == 0.0
        assert "times 0.5" in said[key]
    assert "how far may α·λ go" in said["max_stable_lr"]
    assert "which one limits α" in said["max_stable_lr_skewed"]


@pytest.mark.parametrize(
    "wrong_limit",
    [
        pytest.param(lambda gamma: 2 / np.linalg.eigvalsh(hessian(gamma)).min(), id="smallest eigenvalue"),
        pytest.param(lambda gamma: 2 / np.linalg.eigvalsh(gamma + gamma.T).max(), id="Hessian without 10"),
        pytest.param(lambda gamma: 2 / np.linalg.eigvalsh(gamma).max(), id="eigvalsh of the non-symmetric Γ"),
        pytest.param(lambda gamma: 2 / np.linalg.eigvalsh(10 * gamma).max(), id="eigvalsh of 10·Γ"),
    ],
)
def test_a_wrong_curvature_of_the_skewed_bowl_fails_naming_the_hessian(case, wrong_limit):
    answers = case.variant(max_stable_lr_skewed=wrong_limit(case.gamma))
    assert case.scores(answers)["max_stable_lr_skewed"] == 0.0
    assert "Hessian of function_skewed" in case.messages(answers)["max_stable_lr_skewed"]


# --- every instance keeps the lesson -----------------------------------------------------------------


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_keeps_the_lesson(number):
    given = problem(number)
    gamma = np.array(given.gamma)
    smallest, largest = np.linalg.eigvalsh(hessian(gamma))
    # A stretched bowl as badly conditioned as the public one, and truly rotated and non-symmetric.
    assert CONDITION_NUMBERS[0] <= largest / smallest <= CONDITION_NUMBERS[1]
    assert gamma[0, 1] + gamma[1, 0] != 0 and gamma[0, 1] != gamma[1, 0]
    # α = 0.001 converges monotonically on both bowls, the explorer's default too, and the flat
    # direction has shrunk to a few percent after the 500 recorded steps: the creep is visible, and over.
    assert LEARNING_RATE * largest < 1 and EXPLORER_LEARNING_RATE * largest < 1
    assert (1 - LEARNING_RATE * smallest) ** SKEWED_STEPS < 0.06
    # The start is inside the contour plots and not on an axis of the bowl: the path bends.
    start = np.array(given.start)
    steep = np.linalg.eigh(hessian(gamma))[1][:, 1]
    assert np.abs(start).max() < 10
    assert 0.3 * np.linalg.norm(start) <= abs(steep @ start) < 0.999 * np.linalg.norm(start)
    # The θ runs are stable and monotone, and end far enough from 0 for a wrong step to show.
    for theta, rate, steps in given.theta_settings:
        assert 0 < rate < 0.5 and 1e-3 <= abs(theta * (1 - 2 * rate) ** steps) <= 1


@pytest.mark.parametrize("number", [n for n in LESSON_INSTANCES if n != PUBLIC_INSTANCE])
def test_no_task_of_a_hidden_instance_has_the_public_answer(number):
    given, public = problem(number), problem(PUBLIC_INSTANCE)
    assert given.start != public.start
    public_limit = stable_limit(hessian(np.array(public.gamma)))
    assert stable_limit(hessian(np.array(given.gamma))) != pytest.approx(public_limit, rel=0.01)
    assert given.theta_settings != public.theta_settings
