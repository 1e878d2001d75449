"""Notebook 03: the grader accepts every factorisation of the best rank-1 product and names typical mistakes,
on the public problem and on a hidden instance alike; every instance keeps the lesson.

Variants are recomputed here with torch, from an instance's matrix and starting point
(graders.core.problems.nb03_rank1_approximation), so each mistaken answer is what a student making that
mistake would actually store, and it is graded against that instance's reference.
"""

from functools import cache

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core import kinds
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb03_rank1_approximation import SINGULAR_VALUE_RATIO, problem
from graders.core.tolerances import CLOSE, NEAR_ZERO

NOTEBOOK = "03_rank1_approximation"
LESSON_INSTANCES = range(8)
STEPS = 400


class Instance(GradedInstance):
    """One instance's number and the reference answers a student's answers are graded against there."""

    notebook = NOTEBOOK

    def data(self, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return data(self.number, dtype)

    def run(self, lr: float = 0.1, steps: int = STEPS, dtype=torch.float32, **options):
        return adam_run(self.number, lr, steps, dtype, **options)

    def answers_from_run(self, lr: float = 0.1, steps: int = STEPS, dtype=torch.float32, **options) -> dict:
        return answers_from_run(self.number, lr, steps, dtype, **options)


case = case_fixture(Instance)


def data(number: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mat, X1_init and X2_init exactly as the notebook's data cell builds them on instance `number`."""
    given = problem(number)
    mat, X1_init, X2_init = (torch.tensor(values) for values in (given.mat, given.x1_init, given.x2_init))
    return mat.to(dtype), X1_init.to(dtype), X2_init.to(dtype)


def objective(mat: torch.Tensor, X1: torch.Tensor, X2: torch.Tensor) -> torch.Tensor:
    return ((mat - torch.outer(X1, X2)) ** 2).sum()


@cache
def adam_run(
    number: int,
    lr: float = 0.1,
    steps: int = STEPS,
    dtype: torch.dtype = torch.float32,
    zero_grad: bool = True,
) -> tuple[list[float], torch.Tensor, torch.Tensor]:
    """Losses recorded before each step, and the final X1, X2, on instance `number`.

    The update is torch.optim.Adam's CPU (single-tensor) arithmetic written out: optimizer.step() would
    import torch's compiler stack, seconds that would make the first test slow.
    """
    torch.set_num_threads(1)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    mat, X1_init, X2_init = data(number, dtype)
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
    number: int, lr: float = 0.1, steps: int = STEPS, dtype: torch.dtype = torch.float32, **options
) -> dict:
    """Every answer key as a student who ran Adam this way on instance `number` would store it."""
    losses, X1, X2 = adam_run(number, lr, steps, dtype, **options)
    mat, X1_init, X2_init = data(number, dtype)
    optimum = torch.linalg.svdvals(mat)[1].item() ** 2
    return {
        "initial_objective": objective(mat, X1_init, X2_init),
        "rank1_losses": losses,
        "rank1_product": torch.outer(X1, X2),
        "optimality_gap": objective(mat, X1, X2).item() - optimum,
    }


def test_reference_earns_full_marks(case):
    assert set(case.scores(case.expected).values()) == {1.0}


def test_recomputed_run_is_the_reference(case):
    assert case.scores(case.answers_from_run()) == dict.fromkeys(case.expected, 1.0)


# --- legitimate variants -------------------------------------------------------------------------


def test_float64_run_passes(case):
    assert set(case.scores(case.answers_from_run(dtype=torch.float64)).values()) == {1.0}


@pytest.mark.parametrize("c", [-2.5, -1.0, 0.1, 7.0])
def test_rescaled_factorisation_gives_the_same_product(case, c):
    _, X1, X2 = case.run()
    answers = case.variant(rank1_product=torch.outer(c * X1, X2 / c))
    assert case.scores(answers)["rank1_product"] == 1.0


def test_both_factors_negated_pass(case):
    _, X1, X2 = case.run()
    assert case.scores(case.variant(rank1_product=torch.outer(-X1, -X2)))["rank1_product"] == 1.0


def test_truncated_svd_is_the_same_product(case):
    mat, _, _ = case.data(torch.float64)
    U, S, Vh = torch.linalg.svd(mat)
    answers = case.variant(rank1_product=S[0] * torch.outer(U[:, 0], Vh[0]))
    assert case.scores(answers)["rank1_product"] == 1.0


def test_float32_and_plain_lists_pass(case):
    answers = case.expected
    listed = case.variant(
        initial_objective=[float(answers["initial_objective"])],
        rank1_losses=[float(loss) for loss in answers["rank1_losses"]],
        rank1_product=np.asarray(answers["rank1_product"], dtype=np.float32).tolist(),
        optimality_gap=np.float32(answers["optimality_gap"]),
    )
    assert set(case.scores(listed).values()) == {1.0}


def test_losses_as_one_tensor_pass(case):
    answers = case.variant(rank1_losses=torch.tensor(case.expected["rank1_losses"]))
    assert case.scores(answers)["rank1_losses"] == 1.0


def test_gap_slightly_below_zero_from_rounding_passes(case):
    assert case.scores(case.variant(optimality_gap=-3e-7))["optimality_gap"] == 1.0


def test_a_gap_near_zero_counts_only_with_the_product_it_measures(case):
    # The gap is near zero on every instance: a copied or typed 0.0 beside a wrong product earns nothing.
    answers = case.variant(rank1_product=2 * np.asarray(case.expected["rank1_product"]), optimality_gap=0.0)
    assert case.scores(answers)["optimality_gap"] == 0.0
    assert "it measures rank1_product, which is not right yet" in case.messages(answers)["optimality_gap"]
    assert case.scores(case.variant(optimality_gap=0.0))["optimality_gap"] == 1.0


# --- mistaken variants ---------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [20, 100])
def test_too_few_steps_fail(case, steps):
    answers = case.answers_from_run(steps=steps)
    earned = case.scores(answers)
    assert earned["rank1_product"] == 0.0
    assert earned["rank1_losses"] == 0.0
    assert f"recorded {steps} steps, expected {STEPS}" in case.messages(answers)["rank1_losses"]


def test_far_too_few_steps_leave_a_gap(case):
    # After 20 steps Adam is still on its way down (the lesson test keeps it so on every instance).
    assert case.scores(case.answers_from_run(steps=20))["optimality_gap"] == 0.0


def test_too_few_steps_message_names_the_step_count(case):
    said = case.messages(case.answers_from_run(steps=100))
    assert "after all of the task's Adam steps" in said["rank1_product"]
    assert "you recorded 100 steps" in said["rank1_losses"]


@pytest.mark.parametrize("lr", [0.01, 0.05, 0.2])
def test_wrong_learning_rate_fails_the_trajectory(case, lr):
    earned = case.scores(case.answers_from_run(lr=lr))
    assert earned["rank1_losses"] < 0.9


def test_learning_rate_too_small_to_converge_fails_the_product(case):
    # lr=0.01 may still converge in 400 steps, to the same product; lr=0.001 does not get there.
    earned = case.scores(case.answers_from_run(lr=0.001))
    assert earned["rank1_product"] == 0.0
    assert earned["optimality_gap"] == 0.0


def test_missing_zero_grad_fails(case):
    earned = case.scores(case.answers_from_run(zero_grad=False))
    assert earned["rank1_losses"] < 0.5


def test_recording_after_the_step_is_diagnosed(case):
    losses, X1, X2 = case.run()
    mat, _, _ = case.data()
    answers = case.variant(rank1_losses=losses[1:] + [objective(mat, X1, X2).item()])
    assert case.scores(answers)["rank1_losses"] < 1.0
    assert "one step ahead" in case.messages(answers)["rank1_losses"]


def test_transposed_product_fails_naming_the_transpose(case):
    answers = case.variant(rank1_product=np.asarray(case.expected["rank1_product"]).T)
    assert case.scores(answers)["rank1_product"] == 0.0
    assert "transpose" in case.messages(answers)["rank1_product"]


def test_sign_flipped_product_fails_naming_the_sign(case):
    answers = case.variant(rank1_product=-np.asarray(case.expected["rank1_product"]))
    assert case.scores(answers)["rank1_product"] == 0.0
    assert "sign is flipped" in case.messages(answers)["rank1_product"]


@pytest.mark.parametrize(
    "wrong_objective",
    [
        pytest.param(lambda residual: torch.linalg.matrix_norm(residual), id="the norm, not its square"),
        pytest.param(lambda residual: (residual**2).mean(), id="a mean instead of a sum"),
        pytest.param(lambda residual: residual.abs().sum(), id="absolute values instead of squares"),
    ],
)
def test_wrong_objective_fails_with_the_hint(case, wrong_objective):
    mat, X1_init, X2_init = case.data()
    answers = case.variant(initial_objective=wrong_objective(mat - torch.outer(X1_init, X2_init)))
    assert case.scores(answers)["initial_objective"] == 0.0
    assert "squared Frobenius distance" in case.messages(answers)["initial_objective"]


def test_gap_to_the_largest_singular_value_is_diagnosed(case):
    mat, _, _ = case.data()
    _, X1, X2 = case.run()
    sigma = torch.linalg.svdvals(mat)
    answers = case.variant(optimality_gap=objective(mat, X1, X2).item() - sigma[0].item() ** 2)
    assert case.scores(answers)["optimality_gap"] == 0.0
    assert "cannot be negative" in case.messages(answers)["optimality_gap"]


def test_gap_to_an_unsquared_singular_value_fails_with_the_hint(case):
    mat, _, _ = case.data()
    _, X1, X2 = case.run()
    answers = case.variant(optimality_gap=objective(mat, X1, X2).item() - torch.linalg.svdvals(mat)[1].item())
    said = case.messages(answers)["optimality_gap"]
    assert case.scores(answers)["optimality_gap"] == 0.0
    # σ₂ − σ₂² leaves a gap above zero when σ₂ > 1 (the spec's hint asks about the power), below zero
    # otherwise (the diagnosis asks about the optimum subtracted).
    assert (
        "which power of it" in said
        if torch.linalg.svdvals(mat)[1] > 1
        else "subtracted the right one" in said
    )


# --- every instance keeps the lesson -----------------------------------------------------------------


@pytest.mark.parametrize("number", LESSON_INSTANCES)
def test_every_instance_keeps_the_lesson(number):
    mat, _, _ = data(number, torch.float64)
    sigma = torch.linalg.svdvals(mat)
    # A clear gap between the singular values, like the public matrix's (σ₂/σ₁ = 0.34).
    assert SINGULAR_VALUE_RATIO[0] <= (sigma[1] / sigma[0]).item() <= SINGULAR_VALUE_RATIO[1]
    losses, _, _ = adam_run(number)
    gaps = np.array(losses) - sigma[1].item() ** 2
    # Adam starts well above the optimum, is still on its way after 20 steps, and settles on it for
    # good within its 400 steps: the whole last quarter stays within float32 rounding of σ₂².
    assert gaps[0] > 0.1 and gaps[20] > NEAR_ZERO.atol
    assert np.abs(gaps[3 * STEPS // 4 :]).max() < 1e-5
    assert abs(answers_from_run(number)["optimality_gap"]) < NEAR_ZERO.atol / 100
    # A float64 run retraces the float32 reference within CLOSE, so both grade alike.
    losses64, _, _ = adam_run(number, dtype=torch.float64)
    assert np.allclose(losses, losses64, rtol=CLOSE.rtol, atol=CLOSE.atol)


@pytest.mark.parametrize("number", [n for n in LESSON_INSTANCES if n != PUBLIC_INSTANCE])
def test_no_task_of_a_hidden_instance_has_the_public_answer(number):
    public, hidden = answers_from_run(PUBLIC_INSTANCE), answers_from_run(number)
    assert not np.isclose(public["initial_objective"], hidden["initial_objective"], rtol=10 * CLOSE.rtol)
    assert hidden["rank1_product"].shape == public["rank1_product"].shape
    assert not torch.allclose(public["rank1_product"], hidden["rank1_product"], rtol=0.01, atol=0.01)


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
