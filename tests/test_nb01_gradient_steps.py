"""Notebook 01: the grader accepts legitimate forms of the answers and catches the typical mistakes.

Mistaken answers are recomputed in float64 numpy from the notebook's definitions with one thing changed,
so each test shows that the grader tells that mistake apart from the reference.
"""

import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, messages, reference, scores, variant

NOTEBOOK = "01_gradient_steps"
LEARNING_RATE = 0.001
START = [8.0, 8.0]
GRAMMA = np.array([[1.0, -1.0], [1.0, 1.0]]) @ np.diag([1.0, 4.0])


def skewed(point: np.ndarray) -> float:
    return float(10 * point @ (GRAMMA @ point))


def skewed_gradient(point: np.ndarray) -> np.ndarray:
    return 10 * (GRAMMA + GRAMMA.T) @ point


def parabola_gradient(point: np.ndarray) -> np.ndarray:
    return 20 * point


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


def skewed_histories(record_after_step=False, **mistake) -> dict[str, list]:
    """var_history_2 / fn_history_2 of 500 steps, recorded before each step (or, mistakenly, after)."""
    points = descend(skewed_gradient, START, 500, **mistake)
    recorded = points[1:] if record_after_step else points[:-1]
    return {"var_history_2": recorded, "fn_history_2": [skewed(point) for point in recorded]}


def parabola_first_steps(**mistake) -> list[np.ndarray]:
    return descend(parabola_gradient, START, 3, **mistake)[1:]


def theta_results(learning_rates=(0.1, 0.3), **mistake) -> list[float]:
    """theta_autograd for the notebook's settings (1.0, 0.1, 20) and (-3.0, 0.3, 5)."""
    starts, steps = (1.0, -3.0), (20, 5)
    return [
        float(descend(lambda theta: 2 * theta, [start], count, rate, **mistake)[-1][0])
        for start, rate, count in zip(starts, learning_rates, steps, strict=True)
    ]


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_float64_recomputation_scores_full_marks():
    answers = variant(
        NOTEBOOK,
        parabola_first_steps=parabola_first_steps(),
        theta_autograd=theta_results(),
        max_stable_lr=2 / 20,
        max_stable_lr_skewed=2 / np.linalg.eigvalsh(10 * (GRAMMA + GRAMMA.T)).max(),
        **skewed_histories(),
    )
    assert set(scores(NOTEBOOK, answers).values()) == {1.0}


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_trajectories_score_full_marks(convert):
    histories = skewed_histories()
    answers = variant(
        NOTEBOOK,
        parabola_first_steps=convert(parabola_first_steps()),
        var_history_2=convert(histories["var_history_2"]),
        fn_history_2=convert(histories["fn_history_2"]),
    )
    got = scores(NOTEBOOK, answers)
    assert got["parabola_first_steps"] == got["var_history_2"] == got["fn_history_2"] == 1.0


@pytest.mark.parametrize(
    "value", [0.1, np.float32(0.1), [0.1], torch.tensor(0.1), torch.tensor([0.1], dtype=torch.float64)]
)
def test_legitimate_forms_of_a_scalar_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, max_stable_lr=value))["max_stable_lr"] == 1.0


def test_recording_after_the_step_is_diagnosed_as_one_step_ahead():
    answers = variant(NOTEBOOK, **skewed_histories(record_after_step=True))
    got, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    for key in ("var_history_2", "fn_history_2"):
        assert got[key] == 0.0
        assert "one step ahead" in said[key]


def test_gradient_ascent_fails_and_the_hint_names_the_sign():
    answers = variant(
        NOTEBOOK, parabola_first_steps=parabola_first_steps(ascent=True), **skewed_histories(ascent=True)
    )
    got, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    assert got["parabola_first_steps"] == 0.0
    assert "minus sign" in said["parabola_first_steps"]
    # Only the starting point, recorded before any step, agrees.
    assert got["var_history_2"] == got["fn_history_2"] == 1 / 500
    assert "wrong sign" in said["var_history_2"]


@pytest.mark.parametrize("learning_rate", [0.01, 0.0011, 0.0001])
def test_a_wrong_learning_rate_fails(learning_rate):
    answers = variant(
        NOTEBOOK,
        parabola_first_steps=parabola_first_steps(learning_rate=learning_rate),
        **skewed_histories(learning_rate=learning_rate),
    )
    got = scores(NOTEBOOK, answers)
    assert got["parabola_first_steps"] == 0.0
    assert got["var_history_2"] <= 1 / 500
    assert got["fn_history_2"] <= 1 / 500


def test_gradients_left_to_accumulate_fail_from_the_second_step():
    answers = variant(
        NOTEBOOK,
        parabola_first_steps=parabola_first_steps(zero_grad=False),
        **skewed_histories(zero_grad=False),
    )
    got, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    # Points are rounded to 4 decimals, so a share comes back to within 1e-4.
    assert got["parabola_first_steps"] == pytest.approx(1 / 3, abs=1e-4)
    assert "not zeroed" in said["parabola_first_steps"]
    assert got["var_history_2"] == got["fn_history_2"] == 2 / 500


def test_history_without_a_copy_fails():
    # Appending x.data (a view) instead of a copy: every entry shows the final point.
    final_point = descend(skewed_gradient, START, 500)[-1]
    answers = variant(NOTEBOOK, var_history_2=[final_point] * 500)
    assert scores(NOTEBOOK, answers)["var_history_2"] == 0.0
    assert "append a copy" in messages(NOTEBOOK, answers)["var_history_2"]


@pytest.mark.parametrize("length", [250, 499])
def test_a_history_of_another_length_loses_its_credit_and_says_so(length):
    histories = skewed_histories()
    answers = variant(NOTEBOOK, var_history_2=histories["var_history_2"][:length])
    assert scores(NOTEBOOK, answers)["var_history_2"] == 0.0
    said = messages(NOTEBOOK, answers)["var_history_2"]
    assert f"recorded {length} steps, expected 500" in said and "times 1" not in said


@pytest.mark.parametrize(
    "mistaken",
    [
        pytest.param(theta_results(ascent=True), id="gradient ascent"),
        pytest.param(theta_results(zero_grad=False), id="gradients accumulate"),
        pytest.param(
            theta_results(learning_rates=(0.1, 0.1)), id="learning rate not taken from the argument"
        ),
        pytest.param(theta_results()[:1], id="only the first setting"),
    ],
)
def test_mistakes_in_the_autograd_loop_fail(mistaken):
    assert scores(NOTEBOOK, variant(NOTEBOOK, theta_autograd=mistaken))["theta_autograd"] == 0.0


def test_one_over_lambda_max_gets_the_hint_about_two_over_lambda_max():
    answers = variant(
        NOTEBOOK, max_stable_lr=1 / 20, max_stable_lr_skewed=reference(NOTEBOOK)["max_stable_lr_skewed"] / 2
    )
    got, said = scores(NOTEBOOK, answers), messages(NOTEBOOK, answers)
    for key in ("max_stable_lr", "max_stable_lr_skewed"):
        assert got[key] == 0.0
        assert "2/λ_max" in said[key]


@pytest.mark.parametrize(
    "wrong_curvature",
    [
        pytest.param(
            np.linalg.eigvalsh(10 * (GRAMMA + GRAMMA.T)).min(), id="smallest eigenvalue of the Hessian"
        ),
        pytest.param(np.linalg.eigvalsh(GRAMMA + GRAMMA.T).max(), id="Hessian without the factor 10"),
        pytest.param(np.linalg.eigvalsh(GRAMMA).max(), id="eigvalsh of the non-symmetric Γ"),
    ],
)
def test_a_wrong_curvature_of_the_skewed_bowl_fails(wrong_curvature):
    answers = variant(NOTEBOOK, max_stable_lr_skewed=2 / wrong_curvature)
    assert scores(NOTEBOOK, answers)["max_stable_lr_skewed"] == 0.0
