"""Comparison kinds and per-key grading: credit, shape and NaN handling, and mistake diagnoses."""

import numpy as np
import pytest

from graders import kinds
from graders.grading import Spec, grade_answers, grade_value
from graders.loader import Rejected
from graders.tolerances import CLOSE, DIRECTION, EXACT, NEAR_ZERO

REFERENCE = np.array([[20.0, 40.0, 60.0, 80.0], [100.0, 120.0, 140.0, 160.0]])


def test_array_right_answer_earns_full_credit() -> None:
    assert kinds.array(REFERENCE, REFERENCE.copy(), EXACT).fraction == 1.0


def test_array_one_wrong_element_is_located() -> None:
    wrong = REFERENCE.copy()
    wrong[1, 2] = 141.0
    verdict = kinds.array(REFERENCE, wrong, CLOSE)
    assert verdict.fraction == 0.0
    assert (
        "index [1, 2]" in verdict.message
        and "expected 140" in verdict.message
        and "got 141" in verdict.message
    )


def test_array_wrong_shape_names_both_shapes_and_a_transpose() -> None:
    verdict = kinds.array(REFERENCE, REFERENCE.T, EXACT)
    assert verdict.fraction == 0.0 and "(2, 4)" in verdict.message and "(4, 2)" in verdict.message
    assert "transpose" in verdict.diagnosis


def test_array_nan_is_graded_as_diverged_not_a_crash() -> None:
    verdict = kinds.array(REFERENCE, np.full_like(REFERENCE, np.nan), CLOSE)
    assert verdict.fraction == 0.0 and "diverged" in verdict.message


def test_float32_and_plain_lists_are_accepted() -> None:
    assert kinds.array(REFERENCE, REFERENCE.astype(np.float32), EXACT).fraction == 1.0
    assert kinds.array(REFERENCE, REFERENCE.tolist(), EXACT).fraction == 1.0
    float32_rounding = (REFERENCE / 3).astype(np.float32)
    assert kinds.array(REFERENCE / 3, float32_rounding, CLOSE).fraction == 1.0


@pytest.mark.parametrize(
    ("answer", "mistake"),
    [(-REFERENCE, "minus sign"), (np.zeros_like(REFERENCE), "all zeros")],
)
def test_certain_mistakes_are_named(answer: np.ndarray, mistake: str) -> None:
    verdict = kinds.array(REFERENCE, answer, CLOSE)
    assert verdict.fraction == 0.0 and mistake in verdict.diagnosis


@pytest.mark.parametrize("factor", [2.0, 0.5, 315.3])
def test_a_constant_factor_is_shown_and_the_spec_hint_names_its_cause(factor: float) -> None:
    result = grade_value("X_grad", SPECS["X_grad"], REFERENCE, {"X_grad": factor * REFERENCE})
    assert result.earned == 0.0
    assert f"times {factor:g}" in result.message and "20·X" in result.message
    assert "accumulate" not in result.message


def test_one_number_gets_no_factor_note() -> None:
    # Any number is some multiple of the reference: the note would always fire, so the hint speaks.
    assert "times" not in kinds.array(REFERENCE[0, :1], np.array([21.0]), CLOSE).message


def test_non_numeric_answers_say_what_they_are() -> None:
    assert "None" in kinds.array(REFERENCE, None, CLOSE).message
    assert "ragged" in kinds.array(REFERENCE, [[1.0, 2.0], [3.0]], CLOSE).message
    assert "str" in kinds.array(REFERENCE, "20X", CLOSE).message


def test_scalar_accepts_one_element_containers() -> None:
    assert kinds.scalar(2.5, [2.5], CLOSE).fraction == 1.0
    assert kinds.scalar(2.5, np.array([[2.5]]), CLOSE).fraction == 1.0
    assert "single number" in kinds.scalar(2.5, [2.5, 1.0], CLOSE).message


@pytest.mark.parametrize("got", [1.5e-7, 3e-8, 1e-6, 5e-4])
def test_small_positive_accepts_values_of_the_reference_magnitude(got: float) -> None:
    assert kinds.small_positive(1.5e-7, got, NEAR_ZERO).fraction == 1.0


@pytest.mark.parametrize(
    ("got", "words"),
    [
        pytest.param(-1.5e-7, "negative", id="terms swapped"),
        pytest.param(0.0, "never lands exactly on zero", id="typed-in 0"),
        pytest.param(2.2e-14, "orders of magnitude below", id="squared norm"),
        pytest.param(0.5, "above the allowed", id="not converged"),
        pytest.param(float("nan"), "diverged", id="diverged"),
    ],
)
def test_small_positive_refuses_values_that_only_look_small(got: float, words: str) -> None:
    verdict = kinds.small_positive(1.5e-7, got, NEAR_ZERO)
    assert verdict.fraction == 0.0 and words in verdict.message + verdict.diagnosis


def test_equal_compares_names_and_flags_exactly() -> None:
    assert (
        kinds.equal(["MulBackward0", "AccumulateGrad"], ["MulBackward0", "AccumulateGrad"], EXACT).fraction
        == 1
    )
    assert kinds.equal([True, False], [True, True], EXACT).fraction == 0
    assert kinds.equal([True, False], np.array([True, False]), EXACT).fraction == 1


TRAJECTORY = [np.array([8.0, 8.0]) * 0.9**step for step in range(10)]


def test_trajectory_partial_credit_is_the_share_of_matching_steps() -> None:
    answer = [step.copy() for step in TRAJECTORY]
    answer[7] = answer[7] + 1.0
    answer[9] = answer[9] + 1.0
    verdict = kinds.trajectory(TRAJECTORY, answer, CLOSE)
    assert verdict.fraction == pytest.approx(0.8)
    assert "8 of 10 steps" in verdict.message and "step 7" in verdict.message


def test_trajectory_recorded_after_the_step_is_diagnosed() -> None:
    ahead = TRAJECTORY[1:] + [TRAJECTORY[-1] * 0.9]
    verdict = kinds.trajectory(TRAJECTORY, ahead, CLOSE)
    assert verdict.fraction == 0.0 and "one step ahead" in verdict.diagnosis
    behind = [TRAJECTORY[0] / 0.9] + TRAJECTORY[:-1]
    assert "one step behind" in kinds.trajectory(TRAJECTORY, behind, CLOSE).diagnosis


def test_trajectory_of_another_length_loses_its_credit_and_says_so_plainly() -> None:
    one_short = kinds.trajectory(TRAJECTORY, TRAJECTORY[:-1], CLOSE)
    assert one_short.fraction == 0.0 and "recorded 9 steps, expected 10" in one_short.message
    assert "times" not in one_short.message + one_short.diagnosis
    too_long = kinds.trajectory(TRAJECTORY, TRAJECTORY + TRAJECTORY, CLOSE)
    assert too_long.fraction == 0.0 and "recorded 20 steps" in too_long.message


def test_trajectory_of_one_shared_tensor_is_diagnosed_as_a_missing_copy() -> None:
    verdict = kinds.trajectory(TRAJECTORY, [TRAJECTORY[-1]] * len(TRAJECTORY), CLOSE)
    assert verdict.fraction == 0.0 and "clone()" in verdict.diagnosis


def test_trajectory_container_problems() -> None:
    assert "list of 10 steps" in kinds.trajectory(TRAJECTORY, 3.0, CLOSE).message
    assert kinds.trajectory(TRAJECTORY, np.stack(TRAJECTORY).astype(np.float32), CLOSE).fraction == 1.0


def test_trajectory_that_diverges_says_so() -> None:
    answer = [step.copy() for step in TRAJECTORY]
    answer[4:] = [np.array([np.inf, np.nan])] * 6
    verdict = kinds.trajectory(TRAJECTORY, answer, CLOSE)
    assert verdict.fraction == pytest.approx(0.4) and "diverged" in verdict.message


def test_sign_invariant_columns_ignore_signs_but_not_directions() -> None:
    basis, _ = np.linalg.qr(np.arange(1.0, 13.0).reshape(4, 3) + np.eye(4, 3))
    flipped = basis * np.array([1.0, -1.0, -1.0])
    assert kinds.sign_invariant_columns(basis, flipped, DIRECTION).fraction == 1.0
    swapped = basis[:, [1, 0, 2]]
    verdict = kinds.sign_invariant_columns(basis, swapped, DIRECTION)
    assert (
        verdict.fraction == pytest.approx(1 / 3)
        and "column 0" in verdict.message
        and "sorted" in verdict.diagnosis
    )


SPECS = {
    "X_grad": Spec(kinds.array, 2, EXACT, "the gradient of 10·Σ x² is 20·X"),
    "history": Spec(kinds.trajectory, 4, CLOSE),
}
REFERENCE_ANSWERS = {"X_grad": REFERENCE, "history": TRAJECTORY}


def test_missing_key_scores_zero_and_says_missing() -> None:
    result = grade_value("X_grad", SPECS["X_grad"], REFERENCE, {})
    assert result.earned == 0.0 and result.points == 2 and "missing" in result.message


def test_rejected_value_reports_the_loader_reason() -> None:
    result = grade_value(
        "X_grad", SPECS["X_grad"], REFERENCE, {"X_grad": Rejected("'X_grad': you stored a torch tensor")}
    )
    assert result.earned == 0.0 and "torch tensor" in result.message


def test_hint_is_added_only_when_no_specific_mistake_was_recognised() -> None:
    odd = REFERENCE.copy()
    odd[0, 0] = 7.0
    assert "20·X" in grade_value("X_grad", SPECS["X_grad"], REFERENCE, {"X_grad": odd}).message
    flipped = grade_value("X_grad", SPECS["X_grad"], REFERENCE, {"X_grad": -REFERENCE}).message
    assert "minus sign" in flipped and "20·X" not in flipped


def test_points_scale_with_the_share_of_credit() -> None:
    history = [step.copy() for step in TRAJECTORY]
    history[0] = history[0] + 5
    results = grade_answers(SPECS, REFERENCE_ANSWERS, {"X_grad": REFERENCE, "history": history})
    assert [(r.key, r.earned) for r in results] == [("X_grad", 2.0), ("history", pytest.approx(3.6))]
