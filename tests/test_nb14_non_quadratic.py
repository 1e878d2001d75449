"""Notebook 14 (a non-quadratic objective): the grader's verdicts on mistaken and legitimate answers.

Variants are recomputed here with numpy from the instance's data (rebuilt by the problem module the
notebook's setup cell uses), so each mistake is the one a student would make, not a hand-edited number.
Each is graded on the public instance and on hidden instance 1, against that instance's reference.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.problems.nb14_non_quadratic import (
    ARMIJO_C,
    ARMIJO_STEPS,
    TIE_MARGIN,
    closest_armijo_test,
    largest_curvature,
    problem,
)

NOTEBOOK = "14_non_quadratic"
FIXED_STEPS = 400


class Instance:
    """One instance's data, start and fixed step, with the notebook's loss and gradient in numpy."""

    def __init__(self, number: int) -> None:
        chosen = problem(number)
        features, labels = chosen.data()
        self.X, self.y = features.numpy(), labels.numpy()
        self.start, self.lr_fixed, self.t_initial = np.array(chosen.start), chosen.lr_fixed, chosen.t_initial

    def loss(self, w: np.ndarray) -> float:
        logits = self.X @ w
        return float(np.mean(np.logaddexp(0, logits) - self.y * logits))

    def gradient(self, w: np.ndarray) -> np.ndarray:
        return self.X.T @ (1 / (1 + np.exp(-self.X @ w)) - self.y) / len(self.y)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-self.X @ w))
        return self.X.T @ (self.X * (p * (1 - p))[:, None]) / len(self.y)

    def fixed_run(self, lr: float, steps: int = FIXED_STEPS, *, uphill: bool = False) -> list[float]:
        w, losses = self.start.copy(), []
        for _ in range(steps):
            losses.append(self.loss(w))
            w = w + lr * self.gradient(w) if uphill else w - lr * self.gradient(w)
        return losses

    def armijo(self, search: Callable[["Instance", np.ndarray, float], float], steps: int = ARMIJO_STEPS):
        """The accepted steps and the last point of `steps` line-search steps from the start."""
        w, accepted, t = self.start.copy(), [], self.t_initial
        for _ in range(steps):
            t = search(self, w, t)
            accepted.append(t)
            w = w - t * self.gradient(w)
        return accepted, w


def backtrack(
    data: Instance,
    w: np.ndarray,
    previous: float,
    *,
    c: float = ARMIJO_C,
    squared: bool = True,
    restart: bool = True,
) -> float:
    """Halve t from T_INITIAL (or from the previous step) until the Armijo condition holds."""
    loss, gradient = data.loss(w), data.gradient(w)
    slope = gradient @ gradient if squared else np.linalg.norm(gradient)
    t = data.t_initial if restart else previous
    while data.loss(w - t * gradient) > loss - c * t * slope:
        t /= 2
    return t


def answers_from(data: Instance) -> dict[str, Any]:
    """Every answer of the notebook, computed with numpy's sums (the notebook uses torch's)."""
    accepted, w_armijo = data.armijo(backtrack)
    start_max = np.linalg.eigvalsh(data.hessian(data.start))[-1]
    end_max = np.linalg.eigvalsh(data.hessian(w_armijo))[-1]
    return {
        "grad_start": data.gradient(data.start),
        "lambda_max_start": start_max,
        "fixed_cycle": sorted(data.fixed_run(data.lr_fixed)[-2:]),
        "armijo_steps": accepted,
        "armijo_final_loss": data.loss(w_armijo),
        "lambda_max_end": end_max,
        "stable_steps": [2 / start_max, 2 / end_max],
    }


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


@pytest.fixture
def data(case: Case) -> Instance:
    return Instance(case.number)


# --- every instance keeps the lesson ----------------------------------------------------------------------


@pytest.mark.parametrize("instance_number", range(8))
def test_every_instance_keeps_the_lesson(instance_number: int) -> None:
    """LR_FIXED is stable at the start and not near the minimum, the fixed run ends in a clean two-cycle
    above the line search's loss, the search's steps vary, and no Armijo test is decided by rounding."""
    data = Instance(instance_number)
    answers = answers_from(data)
    assert data.lr_fixed * answers["lambda_max_start"] < 1.8
    assert data.lr_fixed * answers["lambda_max_end"] > 2.1
    assert largest_curvature(data.X, data.start) == pytest.approx(answers["lambda_max_start"])
    losses = data.fixed_run(data.lr_fixed)
    low, high = answers["fixed_cycle"]
    assert high - low > 1e-3 * low
    assert losses[-1] == pytest.approx(losses[-3], rel=1e-8) and losses[-2] == pytest.approx(
        losses[-4], rel=1e-8
    )
    assert answers["armijo_final_loss"] < low
    assert len(set(answers["armijo_steps"])) >= 2
    # Every comparison the searches make is far from a tie, so torch's and numpy's sums take the same branch.
    chosen = problem(instance_number)
    assert closest_armijo_test(chosen.seed, chosen.separation, chosen.start, chosen.t_initial) > TIE_MARGIN
    if instance_number:
        public = answers_from(Instance(0))
        assert answers["armijo_steps"] != public["armijo_steps"]


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_replayed_numpy_run_gets_full_marks(data: Instance, case: Case) -> None:
    """Other sums, the same answers: the variants below are the notebook's computation changed."""
    assert case.full_marks(answers_from(data))


def test_plain_lists_and_tensors_get_full_marks(case: Case) -> None:
    assert case.full_marks({key: np.asarray(value).tolist() for key, value in case.expected.items()})
    assert case.full_marks({key: torch.tensor(np.asarray(value)) for key, value in case.expected.items()})


def test_autograd_gradient_and_torch_hessian_get_full_marks(data: Instance, case: Case) -> None:
    """The gradient from backward() and λmax from eigvals of the autograd Hessian, in torch."""
    X, y = torch.tensor(data.X), torch.tensor(data.y)

    def cross_entropy(w: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y)

    w = torch.tensor(data.start).requires_grad_(True)
    cross_entropy(w).backward()
    hessian = torch.autograd.functional.hessian(cross_entropy, torch.tensor(data.start))
    answers = {
        **case.expected,
        "grad_start": w.grad,
        "lambda_max_start": torch.linalg.eigvals(hessian).real.max().item(),
    }
    assert case.full_marks(answers)


# --- mistaken variants: no credit, and the message names the mistake ----------------------------------------


def test_gradient_with_flipped_sign_or_summed_is_rejected(data: Instance, case: Case) -> None:
    assert "sign" in case.rejected("grad_start", -data.gradient(data.start))
    summed = case.rejected("grad_start", len(data.y) * data.gradient(data.start))
    assert "average over the points" in summed


def test_gradient_with_respect_to_the_logits_is_rejected(data: Instance, case: Case) -> None:
    logits_gradient = (1 / (1 + np.exp(-data.X @ data.start)) - data.y) / len(data.y)
    assert "back to the weights" in case.rejected("grad_start", logits_gradient)


def test_smallest_eigenvalue_or_summed_hessian_is_rejected(data: Instance, case: Case) -> None:
    eigenvalues = np.linalg.eigvalsh(data.hessian(data.start))
    assert "ascending" in case.rejected("lambda_max_start", eigenvalues[0])
    assert "mean loss" in case.rejected("lambda_max_start", len(data.y) * eigenvalues[-1])


@pytest.mark.parametrize(("factor", "uphill"), [(1.0, True), (0.5, False), (1.3, False)], ids=str)
def test_fixed_run_uphill_or_with_another_step_is_rejected(
    data: Instance, case: Case, factor: float, uphill: bool
) -> None:
    with np.errstate(all="ignore"):
        losses = data.fixed_run(factor * data.lr_fixed, uphill=uphill)
    assert "LR_FIXED" in case.rejected("fixed_cycle", sorted(losses[-2:]))


def test_unsorted_cycle_is_rejected(case: Case) -> None:
    said = case.rejected("fixed_cycle", case.expected["fixed_cycle"][::-1])
    assert "smaller first" in said


@pytest.mark.parametrize(
    ("mistake", "search"),
    [
        ("no restart", lambda data, w, previous: backtrack(data, w, previous, restart=False)),
        ("any decrease", lambda data, w, previous: backtrack(data, w, previous, c=0.0)),
        ("unsquared norm", lambda data, w, previous: backtrack(data, w, previous, squared=False)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_mistaken_line_searches_are_rejected(
    data: Instance, case: Case, mistake: str, search: Callable
) -> None:
    accepted, w = data.armijo(search)
    answers = {**case.expected, "armijo_steps": accepted, "armijo_final_loss": data.loss(w)}
    earned = case.scores(answers)
    # The final loss may still match: every search ends near the same minimum.
    assert earned["armijo_steps"] < 0.5, mistake
    said = case.messages(answers)["armijo_steps"]
    # Without a restart the steps can only shrink, and with any decrease accepted T_INITIAL always passes:
    # both records hold one value, which the message names instead of the hint.
    assert "restart at T_INITIAL" in said or (len(set(accepted)) == 1 and "the same value" in said)


def test_end_curvature_at_the_wrong_point_is_rejected(data: Instance, case: Case) -> None:
    w_fixed = data.start.copy()
    for _ in range(FIXED_STEPS):
        w_fixed = w_fixed - data.lr_fixed * data.gradient(w_fixed)
    for point in (data.start, w_fixed):
        said = case.rejected("lambda_max_end", np.linalg.eigvalsh(data.hessian(point))[-1])
        assert "w_armijo" in said


def test_stable_steps_of_one_over_lambda_or_swapped_are_rejected(case: Case) -> None:
    halves = [step / 2 for step in case.expected["stable_steps"]]
    assert "reach −1" in case.rejected("stable_steps", halves)
    assert "first" in case.rejected("stable_steps", case.expected["stable_steps"][::-1])
