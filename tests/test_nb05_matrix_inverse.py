"""Notebook 05 (matrix inverse by gradient descent): the grader's verdicts on mistaken and legitimate answers.

Variants are recomputed here with numpy from the notebook's own matrices (rebuilt from the instance's
problem with the same seeded generator), so each mistake is the one a student would make, not a
hand-edited number. Each is graded on the public instance and on hidden instance 1, against that
instance's reference.
"""

from typing import Any

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.problems.nb05_matrix_inverse import KAPPA_ILL_RANGE, KAPPA_WELL_RANGE, problem

NOTEBOOK = "05_matrix_inverse"
LR, STEPS, HISTORY_STEPS, TOLERANCE = 0.5, 200, 1500, 1e-3


def matrix_with_condition(left: torch.Tensor, right: torch.Tensor, kappa: float) -> np.ndarray:
    singular_values = torch.linspace(1.0, 1.0 / kappa, len(left), dtype=torch.float64)
    return (left @ torch.diag(singular_values) @ right.T).numpy()


def notebook_data(number: int) -> dict[str, np.ndarray]:
    """The notebook's data cell on instance `number`, replayed: same seed, same order of random draws."""
    chosen = problem(number)
    size, generator = chosen.size, torch.Generator().manual_seed(chosen.seed)
    left, _ = torch.linalg.qr(torch.randn(size, size, dtype=torch.float64, generator=generator))
    right, _ = torch.linalg.qr(torch.randn(size, size, dtype=torch.float64, generator=generator))
    b = torch.randn(size, dtype=torch.float64, generator=generator).numpy()
    return {
        "A": matrix_with_condition(left, right, chosen.kappa_well),
        "A_ill": matrix_with_condition(left, right, chosen.kappa_ill),
        "b": b,
    }


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


@pytest.fixture
def data(case: Case) -> dict[str, np.ndarray]:
    return notebook_data(case.number)


def gradient(A: np.ndarray, X: np.ndarray, B: np.ndarray) -> np.ndarray:
    return 2 * A.T @ (A @ X - B)


def descend(
    A: np.ndarray,
    B: np.ndarray,
    lr: float = LR,
    steps: int = STEPS,
    *,
    uphill: bool = False,
    record_after: bool = False,
) -> tuple[np.ndarray, list[float]]:
    """Gradient descent on ‖AX − B‖² from X = 0 in A's dtype; uphill/record_after replay two mistakes."""
    X = np.zeros((A.shape[1], *B.shape[1:]), dtype=A.dtype)
    losses = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            if not record_after:
                losses.append(float(((A @ X - B) ** 2).sum()))
            step = lr * gradient(A, X, B)
            X = X + step if uphill else X - step
            if record_after:
                losses.append(float(((A @ X - B) ** 2).sum()))
    return X, losses


def first_below(history: list[float]) -> int:
    """Index of the first loss below the tolerance; the run's length when none is."""
    return next((step for step, loss in enumerate(history) if loss < TOLERANCE), len(history))


def answers_from(
    data: dict[str, np.ndarray], dtype: type = np.float64, lr: float = LR, steps: int = STEPS
) -> dict[str, Any]:
    """Every answer of the notebook, computed in the given precision, learning rate and number of steps."""
    A, A_ill, b = (data[key].astype(dtype) for key in ("A", "A_ill", "b"))
    identity = np.eye(len(A), dtype=dtype)
    X_learned, _ = descend(A, identity, lr, steps)
    x_solved, _ = descend(A, b, lr, steps)
    _, well = descend(A, identity, lr, HISTORY_STEPS)
    _, ill = descend(A_ill, identity, lr, HISTORY_STEPS)
    with np.errstate(all="ignore"):
        residual = float(np.linalg.norm(A @ X_learned - identity))
    return {
        "inverse_grad": gradient(A, A.T, identity),
        "X_learned": X_learned,
        "inverse_residual": residual,
        "x_solved": x_solved,
        "loss_history_ill": ill,
        "steps_to_tolerance": [first_below(well), first_below(ill)],
    }


# --- every instance keeps the lesson ----------------------------------------------------------------------


@pytest.mark.parametrize("instance_number", range(8))
def test_every_instance_keeps_the_lesson(instance_number: int) -> None:
    """κ stays near 2 and near 20, A is inverted within the 200 steps, and the ill-conditioned loss needs
    over a thousand of the 1500 steps to reach the tolerance while the well-conditioned one needs a few."""
    data = notebook_data(instance_number)
    kappa_well, kappa_ill = (np.linalg.cond(data[key]) for key in ("A", "A_ill"))
    assert KAPPA_WELL_RANGE[0] <= kappa_well <= KAPPA_WELL_RANGE[1] or instance_number == 0
    assert KAPPA_ILL_RANGE[0] <= kappa_ill <= KAPPA_ILL_RANGE[1] or instance_number == 0
    assert 7 < kappa_ill / kappa_well < 13
    answers = answers_from(data)
    assert answers["inverse_residual"] < 1e-12
    np.testing.assert_allclose(answers["x_solved"], np.linalg.solve(data["A"], data["b"]), atol=1e-12)
    k_well, k_ill = answers["steps_to_tolerance"]
    assert 5 <= k_well <= 20 and 1000 < k_ill < HISTORY_STEPS
    if instance_number:
        public = answers_from(notebook_data(0))
        assert answers["steps_to_tolerance"] != public["steps_to_tolerance"]
        assert answers["x_solved"].shape != public["x_solved"].shape


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_replayed_float64_run_is_the_reference(data: dict[str, np.ndarray], case: Case) -> None:
    """The replay reproduces the notebook, so the variants below are the notebook's computation changed."""
    assert case.full_marks(answers_from(data))


def test_float32_run_gets_full_marks(data: dict[str, np.ndarray], case: Case) -> None:
    answers = answers_from(data, np.float32)
    assert answers["X_learned"].dtype == np.float32
    assert case.full_marks(answers)


def test_plain_lists_get_full_marks(case: Case) -> None:
    answers = {key: np.asarray(value).tolist() for key, value in case.expected.items()}
    assert case.full_marks(answers)


def test_torch_tensors_get_full_marks(case: Case) -> None:
    answers = {key: torch.tensor(np.asarray(value)) for key, value in case.expected.items()}
    assert case.full_marks(answers)


def test_exact_inverse_and_solve_are_accepted_as_converged_results(
    data: dict[str, np.ndarray], case: Case
) -> None:
    """Converged gradient descent and the factorisation agree to rounding: the tolerance must accept both."""
    A = data["A"]
    inverse = np.linalg.inv(A)
    residual = float(np.linalg.norm(A @ inverse - np.eye(len(data["A"]))))
    exact = {
        **case.expected,
        "X_learned": inverse,
        "x_solved": np.linalg.solve(A, data["b"]),
        "inverse_residual": residual,
    }
    assert case.full_marks(exact)


def test_step_counts_survive_float32_and_follow_kappa_squared(
    data: dict[str, np.ndarray], case: Case
) -> None:
    """float32 crosses the threshold at the same steps; the counts grow like κ², as ln(1/ε) / (−2 ln ρ)."""
    k_well, k_ill = case.expected["steps_to_tolerance"]
    assert answers_from(data, np.float32)["steps_to_tolerance"] == [k_well, k_ill]
    sigma_min = np.linalg.svd(data["A_ill"], compute_uv=False).min()
    predicted = np.log(1 / TOLERANCE) / (-2 * np.log(1 - 2 * LR * sigma_min**2))
    assert abs(k_ill - predicted) < 0.02 * predicted


# --- mistaken variants: no credit, and the message names the mistake ----------------------------------------


def test_gradient_with_flipped_sign_is_diagnosed(data: dict[str, np.ndarray], case: Case) -> None:
    A = data["A"]
    answers = {**case.expected, "inverse_grad": 2 * A.T @ (np.eye(len(data["A"])) - A @ A.T)}
    assert case.scores(answers)["inverse_grad"] == 0
    assert "sign" in case.messages(answers)["inverse_grad"]


def test_gradient_with_a_instead_of_a_transpose_is_rejected(data: dict[str, np.ndarray], case: Case) -> None:
    A = data["A"]
    answers = {**case.expected, "inverse_grad": 2 * A @ (A @ A.T - np.eye(len(data["A"])))}
    assert case.scores(answers)["inverse_grad"] == 0
    assert "A or its transpose" in case.messages(answers)["inverse_grad"]


def test_gradient_without_factor_two_is_diagnosed(data: dict[str, np.ndarray], case: Case) -> None:
    A = data["A"]
    answers = {**case.expected, "inverse_grad": A.T @ (A @ A.T - np.eye(len(data["A"])))}
    assert case.scores(answers)["inverse_grad"] == 0
    said = case.messages(answers)["inverse_grad"]
    assert "0.5" in said or "half" in said


def test_steps_uphill_are_rejected(data: dict[str, np.ndarray], case: Case) -> None:
    X_uphill, _ = descend(data["A"], np.eye(len(data["A"])), uphill=True)
    residual = float(np.linalg.norm(data["A"] @ X_uphill - np.eye(len(data["A"]))))
    answers = {**case.expected, "X_learned": X_uphill, "inverse_residual": residual}
    earned = case.scores(answers)
    assert earned["X_learned"] == 0 and earned["inverse_residual"] == 0
    assert "against the gradient" in case.messages(answers)["X_learned"]


def test_transposed_inverse_is_rejected(case: Case) -> None:
    answers = {**case.expected, "X_learned": np.asarray(case.expected["X_learned"]).T}
    assert case.scores(answers)["X_learned"] == 0
    assert "transpose" in case.messages(answers)["X_learned"]


@pytest.mark.parametrize(("lr", "steps"), [(LR, 15), (0.05, STEPS)], ids=["too-few-steps", "too-small-lr"])
def test_unconverged_inverse_and_solution_are_rejected(
    data: dict[str, np.ndarray], case: Case, lr: float, steps: int
) -> None:
    wrong = answers_from(data, lr=lr, steps=steps)
    answers = {**case.expected, "X_learned": wrong["X_learned"], "x_solved": wrong["x_solved"]}
    earned = case.scores(answers)
    assert earned["X_learned"] == 0 and earned["x_solved"] == 0


def test_residual_of_a_short_run_is_rejected(data: dict[str, np.ndarray], case: Case) -> None:
    X_short, _ = descend(data["A"], np.eye(len(data["A"])), steps=10)
    answers = {
        **case.expected,
        "inverse_residual": float(np.linalg.norm(data["A"] @ X_short - np.eye(len(data["A"])))),
    }
    assert case.scores(answers)["inverse_residual"] == 0
    assert "after all 200 steps" in case.messages(answers)["inverse_residual"]


def converged_residual(data: dict[str, np.ndarray], dtype: Any, library: str = "numpy") -> float:
    """‖AX − I‖_F after the notebook's 200 steps in dtype, with numpy or (as the notebook does) torch."""
    if library == "numpy":
        A = data["A"].astype(dtype)
        X, _ = descend(A, np.eye(len(A), dtype=dtype))
        return float(np.linalg.norm(A @ X - np.eye(len(A), dtype=dtype)))
    A = torch.tensor(data["A"], dtype=dtype)
    identity, X = torch.eye(len(A), dtype=dtype), torch.zeros(len(A), len(A), dtype=dtype)
    for _ in range(STEPS):
        X = X - LR * 2 * A.T @ (A @ X - identity)
    return torch.linalg.norm(A @ X - identity).item()


@pytest.mark.parametrize(
    ("dtype", "library"),
    [(np.float64, "numpy"), (np.float32, "numpy"), (torch.float64, "torch"), (torch.float32, "torch")],
    ids=["float64", "float32", "torch float64", "torch float32"],
)
def test_a_converged_residual_keeps_its_point_in_either_precision(
    data: dict[str, np.ndarray], case: Case, dtype: Any, library: str
) -> None:
    """float32 leaves a residual 2^29 times float64's rounding level: both are what a converged run gives."""
    answers = {**case.expected, "inverse_residual": converged_residual(data, dtype, library)}
    assert case.scores(answers)["inverse_residual"] == 1.0
    assert "rounding level" in case.messages(answers)["inverse_residual"]


@pytest.mark.parametrize(
    ("dtype", "library", "cause"),
    [
        (np.float64, "numpy", "not its square"),
        (np.float32, "numpy", "square of a float32 residual"),
        (torch.float32, "torch", "square of a float32 residual"),
    ],
    ids=["float64", "float32", "torch float32"],
)
def test_a_squared_residual_loses_its_point_and_the_message_names_the_square(
    data: dict[str, np.ndarray], case: Case, dtype: Any, library: str, cause: str
) -> None:
    """‖AX − I‖² for ‖AX − I‖: in float64 far below the reference; in float32 (about 2e-14) above float64's
    rounding level and far below float32's, where a level-blind check would take it for a float64 run."""
    squared = converged_residual(data, dtype, library) ** 2
    answers = {**case.expected, "inverse_residual": squared}
    assert case.scores(answers)["inverse_residual"] == 0
    assert cause in case.messages(answers)["inverse_residual"]


def test_huge_learning_rate_diverges_and_says_so(data: dict[str, np.ndarray], case: Case) -> None:
    wrong = answers_from(data, lr=100.0)
    assert np.isnan(wrong["X_learned"]).any()
    earned = case.scores(wrong)
    for key in ("X_learned", "inverse_residual", "x_solved"):
        assert earned[key] == 0, key
        assert "diverged" in case.messages(wrong)[key], key
    assert earned["loss_history_ill"] < 0.01


def test_forgotten_zero_grad_in_sgd_is_rejected(data: dict[str, np.ndarray], case: Case) -> None:
    """Without zero_grad() each step applies the sum of all gradients so far."""
    A, b = data["A"], data["b"]
    x, accumulated = np.zeros(len(b)), np.zeros(len(b))
    for _ in range(STEPS):
        accumulated += gradient(A, x, b)
        x = x - LR * accumulated
    answers = {**case.expected, "x_solved": x}
    assert case.scores(answers)["x_solved"] == 0
    assert "gradients cleared" in case.messages(answers)["x_solved"]


def test_losses_recorded_after_the_step_are_diagnosed(data: dict[str, np.ndarray], case: Case) -> None:
    _, late_well = descend(data["A"], np.eye(len(data["A"])), steps=HISTORY_STEPS, record_after=True)
    _, late_ill = descend(data["A_ill"], np.eye(len(data["A"])), steps=HISTORY_STEPS, record_after=True)
    answers = {
        **case.expected,
        "loss_history_ill": late_ill,
        "steps_to_tolerance": [first_below(late_well), first_below(late_ill)],
    }
    earned = case.scores(answers)
    # The last losses differ by less than the absolute tolerance from their neighbours: a few steps match.
    assert earned["loss_history_ill"] < 0.05 and earned["steps_to_tolerance"] == 0
    assert "one step ahead" in case.messages(answers)["loss_history_ill"]


def test_step_counts_off_by_one_are_rejected(case: Case) -> None:
    k_well, k_ill = case.expected["steps_to_tolerance"]
    answers = {**case.expected, "steps_to_tolerance": [k_well + 1, k_ill + 1]}
    assert case.scores(answers)["steps_to_tolerance"] == 0
    assert "number of steps taken" in case.messages(answers)["steps_to_tolerance"]


def test_wrong_learning_rate_spoils_histories_and_step_counts(
    data: dict[str, np.ndarray], case: Case
) -> None:
    wrong = answers_from(data, lr=0.25)
    earned = case.scores(wrong)
    assert earned["loss_history_ill"] < 0.01
    assert earned["steps_to_tolerance"] == 0
    assert "given learning rate" in case.messages(wrong)["steps_to_tolerance"]


def test_swapped_matrices_in_step_counts_are_rejected(case: Case) -> None:
    k_well, k_ill = case.expected["steps_to_tolerance"]
    answers = {**case.expected, "steps_to_tolerance": [k_ill, k_well]}
    assert case.scores(answers)["steps_to_tolerance"] == 0
    assert "A_well's first" in case.messages(answers)["steps_to_tolerance"]
