"""Notebook 03: the grader accepts every factorisation of the best rank-1 product and names typical mistakes.

Variants are recomputed here with torch, from the notebook's seed and starting point, so each mistaken
answer is what a student making that mistake would actually store.
"""

from functools import cache

import numpy as np
import pytest
import torch

from graders import kinds
from graders.tolerances import NEAR_ZERO
from tests.grading_helpers import messages, reference, scores, variant

NOTEBOOK = "03_rank1_approximation"
SEED = 0


def problem(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mat, X1_init and X2_init exactly as the notebook's data cell draws them."""
    torch.manual_seed(SEED)
    mat, X1_init, X2_init = torch.randn(2, 5), torch.randn(2), torch.randn(5)
    return mat.to(dtype), X1_init.to(dtype), X2_init.to(dtype)


def objective(mat: torch.Tensor, X1: torch.Tensor, X2: torch.Tensor) -> torch.Tensor:
    return ((mat - torch.outer(X1, X2)) ** 2).sum()


@cache
def adam_run(
    lr: float = 0.1, steps: int = 400, dtype: torch.dtype = torch.float32, zero_grad: bool = True
) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    """Losses recorded before each step, and the final X1, X2.

    The update is torch.optim.Adam's CPU (single-tensor) arithmetic written out: optimizer.step() would
    import torch's compiler stack, seconds that would make the first test slow.
    """
    torch.set_num_threads(1)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    mat, X1_init, X2_init = problem(dtype)
    params = [X1_init.clone().requires_grad_(), X2_init.clone().requires_grad_()]
    averages = [torch.zeros_like(param) for param in params]
    squares = [torch.zeros_like(param) for param in params]
    losses = []
    for step in range(1, steps + 1):
        if zero_grad:
            for param in params:
                param.grad = None
        loss = objective(mat, *params)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for param, average, square in zip(params, averages, squares, strict=True):
                average.lerp_(param.grad, 1 - beta1)
                square.mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
                denominator = (square.sqrt() / (1 - beta2**step) ** 0.5).add_(eps)
                param.addcdiv_(average, denominator, value=-lr / (1 - beta1**step))
    return losses, params[0].detach(), params[1].detach()


def answers_from_run(
    lr: float = 0.1, steps: int = 400, dtype: torch.dtype = torch.float32, **options
) -> dict:
    """Every answer key as a student who ran Adam this way would store it."""
    losses, X1, X2 = adam_run(lr, steps, dtype, **options)
    mat, X1_init, X2_init = problem(dtype)
    optimum = torch.linalg.svdvals(mat)[1].item() ** 2
    return {
        "initial_objective": objective(mat, X1_init, X2_init),
        "rank1_losses": losses,
        "rank1_product": torch.outer(X1, X2),
        "optimality_gap": objective(mat, X1, X2).item() - optimum,
    }


def test_reference_earns_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_recomputed_run_is_the_reference():
    assert scores(NOTEBOOK, answers_from_run()) == dict.fromkeys(reference(NOTEBOOK), 1.0)


# --- legitimate variants -------------------------------------------------------------------------


def test_float64_run_passes():
    assert set(scores(NOTEBOOK, answers_from_run(dtype=torch.float64)).values()) == {1.0}


@pytest.mark.parametrize("c", [-2.5, -1.0, 0.1, 7.0])
def test_rescaled_factorisation_gives_the_same_product(c):
    _, X1, X2 = adam_run()
    answers = variant(NOTEBOOK, rank1_product=torch.outer(c * X1, X2 / c))
    assert scores(NOTEBOOK, answers)["rank1_product"] == 1.0


def test_both_factors_negated_pass():
    _, X1, X2 = adam_run()
    assert scores(NOTEBOOK, variant(NOTEBOOK, rank1_product=torch.outer(-X1, -X2)))["rank1_product"] == 1.0


def test_truncated_svd_is_the_same_product():
    mat, _, _ = problem(torch.float64)
    U, S, Vh = torch.linalg.svd(mat)
    answers = variant(NOTEBOOK, rank1_product=S[0] * torch.outer(U[:, 0], Vh[0]))
    assert scores(NOTEBOOK, answers)["rank1_product"] == 1.0


def test_float32_and_plain_lists_pass():
    answers = reference(NOTEBOOK)
    listed = variant(
        NOTEBOOK,
        initial_objective=[float(answers["initial_objective"])],
        rank1_losses=[float(loss) for loss in answers["rank1_losses"]],
        rank1_product=np.asarray(answers["rank1_product"], dtype=np.float32).tolist(),
        optimality_gap=np.float32(answers["optimality_gap"]),
    )
    assert set(scores(NOTEBOOK, listed).values()) == {1.0}


def test_losses_as_one_tensor_pass():
    answers = variant(NOTEBOOK, rank1_losses=torch.tensor(reference(NOTEBOOK)["rank1_losses"]))
    assert scores(NOTEBOOK, answers)["rank1_losses"] == 1.0


def test_gap_slightly_below_zero_from_rounding_passes():
    assert scores(NOTEBOOK, variant(NOTEBOOK, optimality_gap=-3e-7))["optimality_gap"] == 1.0


# --- mistaken variants ---------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [20, 100])
def test_too_few_steps_fail(steps):
    earned = scores(NOTEBOOK, answers_from_run(steps=steps))
    assert earned["rank1_product"] == 0.0
    assert earned["rank1_losses"] == 0.0
    assert (
        f"recorded {steps} steps, expected 400"
        in messages(NOTEBOOK, answers_from_run(steps=steps))["rank1_losses"]
    )


def test_far_too_few_steps_leave_a_gap():
    # After 100 steps the gap is already below NEAR_ZERO's 1e-3; after 20 it is not.
    assert scores(NOTEBOOK, answers_from_run(steps=20))["optimality_gap"] == 0.0


def test_too_few_steps_message_names_the_step_count():
    said = messages(NOTEBOOK, answers_from_run(steps=100))
    assert "after all 400 Adam steps" in said["rank1_product"]
    assert "you recorded 100 steps" in said["rank1_losses"]


@pytest.mark.parametrize("lr", [0.01, 0.05, 0.2])
def test_wrong_learning_rate_fails_the_trajectory(lr):
    earned = scores(NOTEBOOK, answers_from_run(lr=lr))
    assert earned["rank1_losses"] < 0.9


def test_learning_rate_too_small_to_converge_fails_the_product():
    # lr=0.01 still converges in 400 steps, to the same product; lr=0.001 does not get there.
    earned = scores(NOTEBOOK, answers_from_run(lr=0.001))
    assert earned["rank1_product"] == 0.0
    assert earned["optimality_gap"] == 0.0


def test_missing_zero_grad_fails():
    earned = scores(NOTEBOOK, answers_from_run(zero_grad=False))
    assert earned["rank1_losses"] < 0.5


def test_recording_after_the_step_is_diagnosed():
    losses, X1, X2 = adam_run()
    mat, _, _ = problem()
    after_each_step = losses[1:] + [objective(mat, X1, X2).item()]
    earned = scores(NOTEBOOK, variant(NOTEBOOK, rank1_losses=after_each_step))
    said = messages(NOTEBOOK, variant(NOTEBOOK, rank1_losses=after_each_step))
    assert earned["rank1_losses"] < 1.0
    assert "one step ahead" in said["rank1_losses"]


def test_transposed_product_fails_naming_the_transpose():
    product = reference(NOTEBOOK)["rank1_product"]
    answers = variant(NOTEBOOK, rank1_product=product.T)
    assert scores(NOTEBOOK, answers)["rank1_product"] == 0.0
    assert "transpose" in messages(NOTEBOOK, answers)["rank1_product"]


def test_sign_flipped_product_fails_naming_the_sign():
    answers = variant(NOTEBOOK, rank1_product=-reference(NOTEBOOK)["rank1_product"])
    assert scores(NOTEBOOK, answers)["rank1_product"] == 0.0
    assert "sign is flipped" in messages(NOTEBOOK, answers)["rank1_product"]


@pytest.mark.parametrize(
    "wrong_objective",
    [
        lambda residual: torch.linalg.matrix_norm(residual),  # the norm, not its square
        lambda residual: (residual**2).mean(),  # a mean instead of a sum
        lambda residual: residual.abs().sum(),  # absolute values instead of squares
    ],
)
def test_wrong_objective_fails(wrong_objective):
    mat, X1_init, X2_init = problem()
    value = wrong_objective(mat - torch.outer(X1_init, X2_init))
    assert scores(NOTEBOOK, variant(NOTEBOOK, initial_objective=value))["initial_objective"] == 0.0


def test_gap_to_the_largest_singular_value_is_diagnosed():
    mat, _, _ = problem()
    _, X1, X2 = adam_run()
    sigma = torch.linalg.svdvals(mat)
    answers = variant(NOTEBOOK, optimality_gap=objective(mat, X1, X2).item() - sigma[0].item() ** 2)
    assert scores(NOTEBOOK, answers)["optimality_gap"] == 0.0
    assert "cannot be negative" in messages(NOTEBOOK, answers)["optimality_gap"]


def test_gap_to_an_unsquared_singular_value_fails_with_the_hint():
    mat, _, _ = problem()
    _, X1, X2 = adam_run()
    answers = variant(
        NOTEBOOK, optimality_gap=objective(mat, X1, X2).item() - torch.linalg.svdvals(mat)[1].item()
    )
    assert scores(NOTEBOOK, answers)["optimality_gap"] == 0.0
    assert "σ₂²" in messages(NOTEBOOK, answers)["optimality_gap"]


# --- the near_zero kind --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "fraction", "words"),
    [
        (0.0, 1.0, "within"),
        (NEAR_ZERO.atol / 2, 1.0, "within"),
        (-NEAR_ZERO.atol / 2, 1.0, "within"),
        (2 * NEAR_ZERO.atol, 0.0, "above zero"),
        (-2 * NEAR_ZERO.atol, 0.0, "below zero"),
        ([[1e-5]], 1.0, "within"),
        ([0.0, 0.0], 0.0, "single number"),
        (float("nan"), 0.0, "diverged"),
        ("0", 0.0, "expected numbers"),
        (None, 0.0, "None"),
    ],
)
def test_near_zero_kind(got, fraction, words):
    verdict = kinds.near_zero(1e-7, got, NEAR_ZERO)
    assert verdict.fraction == fraction
    assert words in verdict.message
