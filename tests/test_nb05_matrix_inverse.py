"""Notebook 05 (matrix inverse by gradient descent): the grader's verdicts on mistaken and legitimate answers.

Variants are recomputed here with numpy from the notebook's own matrices (rebuilt with the same seeded
generator), so each mistake is the one a student would make, not a hand-edited number.
"""

from typing import Any

import numpy as np
import pytest
import torch
from grading_helpers import messages, reference, scores, variant

NOTEBOOK = "05_matrix_inverse"
SIZE = 4
LR, STEPS, HISTORY_STEPS, TOLERANCE = 0.5, 200, 1500, 1e-3


def matrix_with_condition(left: torch.Tensor, right: torch.Tensor, kappa: float) -> np.ndarray:
    singular_values = torch.linspace(1.0, 1.0 / kappa, SIZE, dtype=torch.float64)
    return (left @ torch.diag(singular_values) @ right.T).numpy()


def notebook_data() -> dict[str, np.ndarray]:
    """The notebook's data cell, replayed: same seed, same order of random draws."""
    generator = torch.Generator().manual_seed(0)
    left, _ = torch.linalg.qr(torch.randn(SIZE, SIZE, dtype=torch.float64, generator=generator))
    right, _ = torch.linalg.qr(torch.randn(SIZE, SIZE, dtype=torch.float64, generator=generator))
    b = torch.randn(SIZE, dtype=torch.float64, generator=generator).numpy()
    return {
        "A": matrix_with_condition(left, right, 2.0),
        "A_ill": matrix_with_condition(left, right, 20.0),
        "b": b,
    }


DATA = notebook_data()


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


def answers_from(dtype: type = np.float64, lr: float = LR, steps: int = STEPS) -> dict[str, Any]:
    """Every answer of the notebook, computed in the given precision, learning rate and number of steps."""
    A, A_ill, b = (DATA[key].astype(dtype) for key in ("A", "A_ill", "b"))
    identity = np.eye(SIZE, dtype=dtype)
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


ALL_KEYS = list(reference(NOTEBOOK))


def full_marks(answers: dict[str, Any]) -> bool:
    return scores(NOTEBOOK, answers) == dict.fromkeys(ALL_KEYS, 1.0)


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_replayed_float64_run_is_the_reference() -> None:
    """The replay reproduces the notebook, so the variants below are the notebook's computation changed."""
    assert full_marks(answers_from(np.float64))


def test_float32_run_gets_full_marks() -> None:
    answers = answers_from(np.float32)
    assert answers["X_learned"].dtype == np.float32
    assert full_marks(answers)


def test_plain_lists_get_full_marks() -> None:
    answers = {key: np.asarray(value).tolist() for key, value in reference(NOTEBOOK).items()}
    assert full_marks(answers)


def test_torch_tensors_get_full_marks() -> None:
    answers = {key: torch.tensor(np.asarray(value)) for key, value in reference(NOTEBOOK).items()}
    assert full_marks(answers)


def test_exact_inverse_and_solve_are_accepted_as_converged_results() -> None:
    """Converged gradient descent and the factorisation agree to rounding: the tolerance must accept both."""
    A = DATA["A"]
    inverse = np.linalg.inv(A)
    residual = float(np.linalg.norm(A @ inverse - np.eye(SIZE)))
    exact = variant(
        NOTEBOOK, X_learned=inverse, x_solved=np.linalg.solve(A, DATA["b"]), inverse_residual=residual
    )
    assert full_marks(exact)


def test_step_counts_survive_float32_and_follow_kappa_squared() -> None:
    """float32 crosses the threshold at the same steps; κ = 20 needs about a hundred times κ = 2's steps."""
    k_well, k_ill = reference(NOTEBOOK)["steps_to_tolerance"]
    assert answers_from(np.float32)["steps_to_tolerance"] == [k_well, k_ill]
    assert 80 < k_ill / k_well < 120


# --- mistaken variants: no credit, and the message names the mistake ----------------------------------------


def test_gradient_with_flipped_sign_is_diagnosed() -> None:
    A = DATA["A"]
    answers = variant(NOTEBOOK, inverse_grad=2 * A.T @ (np.eye(SIZE) - A @ A.T))
    assert scores(NOTEBOOK, answers)["inverse_grad"] == 0
    assert "sign is flipped" in messages(NOTEBOOK, answers)["inverse_grad"]


def test_gradient_with_a_instead_of_a_transpose_is_rejected() -> None:
    A = DATA["A"]
    answers = variant(NOTEBOOK, inverse_grad=2 * A @ (A @ A.T - np.eye(SIZE)))
    assert scores(NOTEBOOK, answers)["inverse_grad"] == 0
    assert "Aᵀ (not A)" in messages(NOTEBOOK, answers)["inverse_grad"]


def test_gradient_without_factor_two_is_diagnosed() -> None:
    A = DATA["A"]
    answers = variant(NOTEBOOK, inverse_grad=A.T @ (A @ A.T - np.eye(SIZE)))
    assert scores(NOTEBOOK, answers)["inverse_grad"] == 0
    assert "reference times 0.5" in messages(NOTEBOOK, answers)["inverse_grad"]


def test_steps_uphill_are_rejected() -> None:
    X_uphill, _ = descend(DATA["A"], np.eye(SIZE), uphill=True)
    residual = float(np.linalg.norm(DATA["A"] @ X_uphill - np.eye(SIZE)))
    answers = variant(NOTEBOOK, X_learned=X_uphill, inverse_residual=residual)
    earned = scores(NOTEBOOK, answers)
    assert earned["X_learned"] == 0 and earned["inverse_residual"] == 0
    assert "X − lr·∇f" in messages(NOTEBOOK, answers)["X_learned"]


def test_transposed_inverse_is_rejected() -> None:
    answers = variant(NOTEBOOK, X_learned=np.asarray(reference(NOTEBOOK)["X_learned"]).T)
    assert scores(NOTEBOOK, answers)["X_learned"] == 0
    assert "transpose" in messages(NOTEBOOK, answers)["X_learned"]


@pytest.mark.parametrize(("lr", "steps"), [(LR, 30), (0.05, STEPS)], ids=["too-few-steps", "too-small-lr"])
def test_unconverged_inverse_and_solution_are_rejected(lr: float, steps: int) -> None:
    wrong = answers_from(np.float64, lr=lr, steps=steps)
    earned = scores(NOTEBOOK, variant(NOTEBOOK, X_learned=wrong["X_learned"], x_solved=wrong["x_solved"]))
    assert earned["X_learned"] == 0 and earned["x_solved"] == 0


def test_residual_of_a_short_run_is_rejected() -> None:
    X_short, _ = descend(DATA["A"], np.eye(SIZE), steps=10)
    answers = variant(NOTEBOOK, inverse_residual=float(np.linalg.norm(DATA["A"] @ X_short - np.eye(SIZE))))
    assert scores(NOTEBOOK, answers)["inverse_residual"] == 0
    assert "after all 200 steps" in messages(NOTEBOOK, answers)["inverse_residual"]


def converged_residual(dtype: Any, library: str = "numpy") -> float:
    """‖AX − I‖_F after the notebook's 200 steps in dtype, with numpy or (as the notebook does) torch."""
    if library == "numpy":
        A = DATA["A"].astype(dtype)
        X, _ = descend(A, np.eye(SIZE, dtype=dtype))
        return float(np.linalg.norm(A @ X - np.eye(SIZE, dtype=dtype)))
    A, identity = torch.tensor(DATA["A"], dtype=dtype), torch.eye(SIZE, dtype=dtype)
    X = torch.zeros(SIZE, SIZE, dtype=dtype)
    for _ in range(STEPS):
        X = X - LR * 2 * A.T @ (A @ X - identity)
    return torch.linalg.norm(A @ X - identity).item()


@pytest.mark.parametrize(
    ("dtype", "library"),
    [(np.float64, "numpy"), (np.float32, "numpy"), (torch.float64, "torch"), (torch.float32, "torch")],
    ids=["float64", "float32", "torch float64", "torch float32"],
)
def test_a_converged_residual_keeps_its_point_in_either_precision(dtype: Any, library: str) -> None:
    """float32 leaves a residual 2^29 times float64's rounding level: both are what a converged run gives."""
    answers = variant(NOTEBOOK, inverse_residual=converged_residual(dtype, library))
    assert scores(NOTEBOOK, answers)["inverse_residual"] == 1.0
    assert "rounding level" in messages(NOTEBOOK, answers)["inverse_residual"]


@pytest.mark.parametrize(
    ("dtype", "library", "cause"),
    [
        (np.float64, "numpy", "not squared"),
        (np.float32, "numpy", "squared? Store the norm, not its square"),
        (torch.float32, "torch", "squared? Store the norm, not its square"),
    ],
    ids=["float64", "float32", "torch float32"],
)
def test_a_squared_residual_loses_its_point_and_the_message_names_the_square(
    dtype: Any, library: str, cause: str
) -> None:
    """‖AX − I‖² for ‖AX − I‖: in float64 far below the reference; in float32 (about 2e-14) above float64's
    rounding level and far below float32's, where a level-blind check would take it for a float64 run."""
    squared = converged_residual(dtype, library) ** 2
    answers = variant(NOTEBOOK, inverse_residual=squared)
    assert scores(NOTEBOOK, answers)["inverse_residual"] == 0
    assert cause in messages(NOTEBOOK, answers)["inverse_residual"]


def test_huge_learning_rate_diverges_and_says_so() -> None:
    wrong = answers_from(np.float64, lr=100.0)
    assert np.isnan(wrong["X_learned"]).any()
    earned, said = scores(NOTEBOOK, wrong), messages(NOTEBOOK, wrong)
    for key in ("X_learned", "inverse_residual", "x_solved"):
        assert earned[key] == 0, key
        assert "diverged" in said[key], key
    assert earned["loss_history_ill"] < 0.01


def test_forgotten_zero_grad_in_sgd_is_rejected() -> None:
    """Without zero_grad() each step applies the sum of all gradients so far."""
    A, b = DATA["A"], DATA["b"]
    x, accumulated = np.zeros(SIZE), np.zeros(SIZE)
    for _ in range(STEPS):
        accumulated += gradient(A, x, b)
        x = x - LR * accumulated
    answers = variant(NOTEBOOK, x_solved=x)
    assert scores(NOTEBOOK, answers)["x_solved"] == 0
    assert "zero_grad" in messages(NOTEBOOK, answers)["x_solved"]


def test_losses_recorded_after_the_step_are_diagnosed() -> None:
    _, late_well = descend(DATA["A"], np.eye(SIZE), steps=HISTORY_STEPS, record_after=True)
    _, late_ill = descend(DATA["A_ill"], np.eye(SIZE), steps=HISTORY_STEPS, record_after=True)
    answers = variant(
        NOTEBOOK,
        loss_history_ill=late_ill,
        steps_to_tolerance=[first_below(late_well), first_below(late_ill)],
    )
    earned = scores(NOTEBOOK, answers)
    assert earned["loss_history_ill"] < 0.01 and earned["steps_to_tolerance"] == 0
    assert "one step ahead" in messages(NOTEBOOK, answers)["loss_history_ill"]


def test_step_counts_off_by_one_are_rejected() -> None:
    k_well, k_ill = reference(NOTEBOOK)["steps_to_tolerance"]
    answers = variant(NOTEBOOK, steps_to_tolerance=[k_well + 1, k_ill + 1])
    assert scores(NOTEBOOK, answers)["steps_to_tolerance"] == 0


def test_wrong_learning_rate_spoils_histories_and_step_counts() -> None:
    wrong = answers_from(np.float64, lr=0.25)
    earned = scores(NOTEBOOK, wrong)
    assert earned["loss_history_ill"] < 0.01
    assert earned["steps_to_tolerance"] == 0
    assert "lr = 0.5" in messages(NOTEBOOK, wrong)["steps_to_tolerance"]


def test_swapped_matrices_in_step_counts_are_rejected() -> None:
    k_well, k_ill = reference(NOTEBOOK)["steps_to_tolerance"]
    answers = variant(NOTEBOOK, steps_to_tolerance=[k_ill, k_well])
    assert scores(NOTEBOOK, answers)["steps_to_tolerance"] == 0
    assert "in that order" in messages(NOTEBOOK, answers)["steps_to_tolerance"]
