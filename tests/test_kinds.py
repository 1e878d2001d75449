"""Comparison kinds and per-key grading: credit, shape and NaN handling, and mistake diagnoses."""

from typing import Any

import numpy as np
import pytest
from grading_helpers import assert_reveals_no_reference

from graders.core import kinds
from graders.core.grading import Spec, grade_answers, grade_value
from graders.core.loader import Rejected
from graders.core.tolerances import CLOSE, DIRECTION, EXACT, NEAR_ZERO, ROUNDING_RESIDUAL

REFERENCE = np.array([[20.0, 40.0, 60.0, 80.0], [100.0, 120.0, 140.0, 160.0]])


def test_array_right_answer_earns_full_credit() -> None:
    assert kinds.array(REFERENCE, REFERENCE.copy(), EXACT).fraction == 1.0


@pytest.mark.parametrize(
    ("value", "how"),
    [
        (141.0, "which is one too large"),
        (150.0, "which is slightly too large"),
        (70.0, "which is 2× too small"),
        (500.0, "which is about 4× too large"),
        (-140.0, "which is of the opposite sign"),
        (1 / 140, "which is the reciprocal of the expected value"),
        (0.0, "which is zero"),
    ],
)
def test_array_one_wrong_element_is_located_and_described_without_its_value(value: float, how: str) -> None:
    wrong = REFERENCE.copy()
    wrong[1, 2] = value
    verdict = kinds.array(REFERENCE, wrong, CLOSE)
    assert verdict.fraction == 0.0
    assert verdict.message == f"differs: only index [1, 2], {how}"
    assert_reveals_no_reference(verdict.message + verdict.diagnosis, REFERENCE, wrong)


def test_array_with_many_wrong_elements_counts_them_and_describes_the_first() -> None:
    wrong = REFERENCE.copy()
    wrong[0, 1:] += 3.0
    message = kinds.array(REFERENCE, wrong, CLOSE).message
    assert message == "differs: 3 of 8 elements, the first at index [0, 1], which is slightly too large"


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


@pytest.mark.parametrize(
    ("factor", "shown"),
    [(2.0, "times 2"), (0.5, "times 0.5"), (0.1, "times 0.1"), (315.3, "times about 300")],
)
def test_a_constant_factor_is_shown_and_the_spec_hint_names_its_cause(factor: float, shown: str) -> None:
    result = grade_value("X_grad", SPECS["X_grad"], REFERENCE, {"X_grad": factor * REFERENCE})
    assert result.earned == 0.0
    assert f"reference {shown} (" in result.message and "20·X" in result.message
    assert "accumulate" not in result.message


def test_an_odd_factor_is_too_rough_to_rebuild_the_reference() -> None:
    # Dividing by a factor printed to 4 digits would land within CLOSE of the reference.
    factor = 1.23456
    message = kinds.array(REFERENCE, factor * REFERENCE, CLOSE).message
    assert message == "differs: it is the reference times about 1.2"


def test_one_number_gets_a_direction_and_a_rough_size_not_the_reference() -> None:
    assert kinds.array(REFERENCE[0, :1], np.array([21.0]), CLOSE).message.endswith("one too large")
    assert kinds.scalar(13.0, 12.0, CLOSE).message == "differs: it is one too small"
    assert kinds.scalar(0.260232, 0.27, CLOSE).message == "differs: it is slightly too large"
    assert kinds.scalar(0.260232, 0.3, CLOSE).message == "differs: it is too large"
    assert kinds.scalar(0.260232, 0.520464, CLOSE).message == "differs: it is the reference times 2"
    assert kinds.scalar(0.260232, 0.9, CLOSE).message == "differs: it is about 3× too large"
    assert kinds.scalar(0.260232, 2.6e-5, CLOSE).message == "differs: it is orders of magnitude too small"
    assert kinds.scalar(0.260232, -0.1, CLOSE).message == "differs: it is of the wrong sign"


def test_a_swapped_ratio_is_named_and_the_hint_still_speaks() -> None:
    # √10's reciprocal is also a tenth of it: a swapped ratio is the likelier mistake.
    result = grade_value("X_grad", SPECS["X_grad"], np.array(3.16228), {"X_grad": 1 / 3.16228})
    assert (
        "the reciprocal of the expected value, as if numerator and denominator were swapped" in result.message
    )
    assert "20·X" in result.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        pytest.param(np.array([4.0, 3.0, 2.0, 1.0]), "right values in reverse order", id="reversed"),
        pytest.param(np.array([2.0, 1.0, 4.0, 3.0]), "right values in another order", id="permuted"),
        pytest.param(np.array([9.0, 1.0, 2.0, 3.0]), "shifted one position later", id="shifted later"),
        pytest.param(np.array([2.0, 3.0, 4.0, 0.0]), "shifted one position earlier", id="shifted earlier"),
        pytest.param(np.array([2.0, 3.0, 4.0, 5.0]), "every element is one too large", id="off by one"),
    ],
)
def test_order_and_offsets_of_a_vector_are_named(answer: np.ndarray, words: str) -> None:
    reference = np.array([1.0, 2.0, 3.0, 4.0])
    verdict = kinds.array(reference, answer, EXACT)
    assert verdict.fraction == 0.0 and words in verdict.message


def test_a_transposed_square_matrix_is_named() -> None:
    square = np.arange(1.0, 10.0).reshape(3, 3)
    assert "transpose of the expected matrix" in kinds.array(square, square.T, CLOSE).message


@pytest.mark.parametrize(
    ("answer", "dtype"),
    [(np.round(REFERENCE / 7), "integer dtype"), ((REFERENCE / 7).astype(np.float16), "float16")],
)
def test_a_lower_precision_is_named(answer: np.ndarray, dtype: str) -> None:
    verdict = kinds.array(REFERENCE / 7, answer, CLOSE)
    assert verdict.fraction == 0.0 and dtype in verdict.diagnosis


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
        pytest.param(0.0, "ends exactly on zero", id="typed-in 0"),
        pytest.param(2.2e-14, "orders of magnitude below what a finished run leaves", id="squared norm"),
        pytest.param(0.5, "above the allowed", id="not converged"),
        pytest.param(float("nan"), "diverged", id="diverged"),
    ],
)
def test_small_positive_refuses_values_that_only_look_small(got: float, words: str) -> None:
    verdict = kinds.small_positive(1.5e-7, got, NEAR_ZERO)
    assert verdict.fraction == 0.0 and words in verdict.message + verdict.diagnosis
    assert_reveals_no_reference(verdict.message + verdict.diagnosis, 1.5e-7, got)


@pytest.mark.parametrize(
    ("got", "words"),
    [
        pytest.param(1e-20, "below float64's rounding level", id="far below"),
        pytest.param(1.0, "above even float32's rounding level", id="not converged"),
        pytest.param((2e-15 * kinds.FLOAT32_ROUNDING) ** 2, "square of a float32 residual", id="squared"),
    ],
)
def test_rounding_residual_misses_name_the_levels_not_their_values(got: float, words: str) -> None:
    verdict = kinds.rounding_residual(2e-15, got, ROUNDING_RESIDUAL)
    assert verdict.fraction == 0.0 and words in verdict.message + verdict.diagnosis
    assert_reveals_no_reference(verdict.message + verdict.diagnosis, 2e-15, got)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["Mul", "Pow", "Sum", "Acc"], "differs at element [1] only: yours is 'Pow'"),
        (["Acc", "Sum", "Add", "Mul"], "differs: the right elements in reverse order"),
        (["Add", "Mul", "Sum", "Acc"], "differs: the right elements in another order"),
        (["Mul", "Sum", "Acc"], "differs: one element is missing, at position [1]"),
        (["Mul", "Add", "Add", "Sum", "Acc"], "differs: one element too many, at position [1]"),
        ("Mul", "differs: expected a list of 4 elements, got a str"),
    ],
)
def test_equal_says_which_element_differs_without_naming_the_expected_one(answer: Any, message: str) -> None:
    expected = ["Mul", "Add", "Sum", "Acc"]
    verdict = kinds.equal(expected, answer, EXACT)
    assert verdict.fraction == 0 and verdict.message == message
    assert_reveals_no_reference(verdict.message, expected, answer)


def test_equal_counts_and_nested_lists() -> None:
    assert kinds.equal(13, 12, EXACT).message == "differs: it is one too small"
    assert kinds.equal([[1, 3], [1]], [[3, 1], [1]], EXACT).message == (
        "differs at element [0] only: the right elements in reverse order"
    )


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


def test_trajectory_difference_says_which_way_not_what_was_expected() -> None:
    answer = [step.copy() for step in TRAJECTORY]
    answer[3] = answer[3] * np.array([1.0, 0.5])
    verdict = kinds.trajectory(TRAJECTORY, answer, CLOSE)
    assert (
        verdict.message
        == "9 of 10 steps match; first difference at step 3: only index [1], which is 2× too small"
    )
    assert_reveals_no_reference(verdict.message, TRAJECTORY, answer)


@pytest.mark.parametrize(
    ("factor", "words", "diagnosis"),
    [
        (-1.0, "every step has the opposite sign", kinds.SIGN),
        (2.0, "the whole record is the reference times 2", ""),
    ],
)
def test_a_record_scaled_as_a_whole_says_so(factor: float, words: str, diagnosis: str) -> None:
    verdict = kinds.trajectory(TRAJECTORY, [factor * step for step in TRAJECTORY], CLOSE)
    assert verdict.message == f"0 of 10 steps match; first difference at step 0: {words}"
    assert verdict.diagnosis == diagnosis


@pytest.mark.parametrize(
    "uphill",
    [
        pytest.param([np.array([8.0, 8.0]) * 1.1**step for step in range(10)], id="a path moving away"),
        pytest.param([float(64 * 1.2**step) for step in range(10)], id="a growing loss"),
    ],
)
def test_a_run_that_went_uphill_is_named(uphill: list) -> None:
    reference = TRAJECTORY if isinstance(uphill[0], np.ndarray) else [float(64 * 0.81**s) for s in range(10)]
    verdict = kinds.trajectory(reference, uphill, CLOSE)
    assert verdict.fraction == pytest.approx(0.1) and verdict.diagnosis == kinds.UPHILL


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
    assert verdict.fraction == pytest.approx(1 / 3) and "in another order (column 0" in verdict.message
    assert "permuted with their singular values" in verdict.diagnosis
    elsewhere = basis.copy()
    elsewhere[:, 1] = basis[:, 1] + basis[:, 2]
    verdict = kinds.sign_invariant_columns(basis, elsewhere, DIRECTION)
    assert verdict.fraction == pytest.approx(2 / 3) and verdict.diagnosis == ""
    assert (
        verdict.message
        == "2 of 3 columns point along the reference directions (up to sign); column 1 points elsewhere"
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
