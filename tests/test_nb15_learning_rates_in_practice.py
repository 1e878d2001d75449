"""Notebook 15 (learning rates in practice): the grader's verdicts on mistaken and legitimate answers.

Variants are replayed here from the instance's data and initial network (rebuilt by the problem module the
notebook's setup cell uses), with the updates written out by hand instead of torch.optim, so each mistake is
the one a student would make, not a hand-edited number. Each is graded on the public instance and on hidden
instance 1, against that instance's reference.
"""

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.problems.nb15_learning_rates_in_practice import problem

NOTEBOOK = "15_learning_rates_in_practice"
STEPS, DIVERGED, LR_PEAK, WARMUP_STEPS, MAX_NORM = 200, 1e4, 0.45, 40, 1.0

Clip = Callable[[list[torch.Tensor]], None]


def clip_total(gradients: list[torch.Tensor], max_norm: float = MAX_NORM) -> None:
    """clip_grad_norm_'s rule: one factor max_norm / (total norm + 1e-6) for all, when it is below 1."""
    factor = max_norm / (math.sqrt(sum((gradient**2).sum().item() for gradient in gradients)) + 1e-6)
    if factor < 1:
        for gradient in gradients:
            gradient.mul_(factor)


class Replay:
    """One instance's data and initial network, trained by hand-written full-batch gradient steps."""

    def __init__(self, number: int) -> None:
        self.problem = problem(number)
        self.X, self.y = self.problem.data()
        self.rates = torch.logspace(-4, 1, self.problem.range_steps, dtype=torch.float64).tolist()

    def parameters(self) -> list[torch.Tensor]:
        return [p.detach().clone().requires_grad_(True) for p in self.problem.model().parameters()]

    def loss(self, params: list[torch.Tensor]) -> torch.Tensor:
        w1, b1, w2, b2 = params
        return torch.nn.functional.mse_loss(torch.tanh(self.X @ w1.T + b1) @ w2.T + b2, self.y)

    def gradients(self, params: list[torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
        loss = self.loss(params)
        return loss.item(), list(torch.autograd.grad(loss, params))

    def train(
        self, rates: Callable[[int], float], clip: Clip | None = None, steps: int = STEPS
    ) -> list[float]:
        """Losses before each step; the run stops after recording one above DIVERGED."""
        params, losses = self.parameters(), []
        for k in range(steps):
            loss, gradients = self.gradients(params)
            losses.append(loss)
            if not math.isfinite(loss) or loss > DIVERGED:
                break
            if clip is not None:
                clip(gradients)
            with torch.no_grad():
                params = [
                    (p - rates(k) * g).requires_grad_(True) for p, g in zip(params, gradients, strict=True)
                ]
        return losses

    def range_test(self, late: bool = False) -> list[float]:
        """The range test's losses; `late` replays rates set after the step (each takes the previous rate)."""
        params, losses = self.parameters(), []
        for k in range(len(self.rates)):
            loss, gradients = self.gradients(params)
            losses.append(loss)
            if loss > 4 * min(losses):
                break
            rate = self.rates[max(k - 1, 0)] if late else self.rates[k]
            with torch.no_grad():
                params = [(p - rate * g).requires_grad_(True) for p, g in zip(params, gradients, strict=True)]
        return losses

    def first_gradients(self) -> list[torch.Tensor]:
        return self.gradients(self.parameters())[1]


def warmup(step: int) -> float:
    return LR_PEAK * min(1.0, (step + 1) / WARMUP_STEPS)


def first_above(losses: list[float]) -> int:
    return next((k for k, loss in enumerate(losses) if not math.isfinite(loss) or loss > DIVERGED), STEPS)


def lowest_over_ten(replay: Replay, losses: list[float]) -> float:
    return replay.rates[losses.index(min(losses))] / 10


def to_best(losses: list[float]) -> list[float]:
    """The graded part of a range test: the losses up to ten steps before the lowest one."""
    return losses[: losses.index(min(losses)) - 10]


def answers_from(replay: Replay) -> dict[str, Any]:
    """Every answer of the notebook, from the hand-written replay."""
    range_losses = replay.range_test()
    gradients = replay.first_gradients()
    total = math.sqrt(sum((gradient**2).sum().item() for gradient in gradients))
    clip_total(gradients)
    return {
        "range_losses_to_best": to_best(range_losses),
        "chosen_lr": lowest_over_ten(replay, range_losses),
        "warmup_lrs": [warmup(k) for k in range(60)],
        "diverged_at": [first_above(replay.train(lambda k: LR_PEAK)), first_above(replay.train(warmup))],
        "first_total_norm": total,
        "clipped_first_grads": torch.cat([gradient.flatten() for gradient in gradients]),
        "clipped_losses": replay.train(lambda k: LR_PEAK, clip=clip_total),
    }


class Case(GradedInstance):
    notebook = NOTEBOOK


case = case_fixture(Case)


@pytest.fixture
def replay(case: Case) -> Replay:
    return Replay(case.number)


# --- every instance keeps the lesson ----------------------------------------------------------------------


@pytest.mark.parametrize("instance_number", range(8))
def test_every_instance_keeps_the_lesson(instance_number: int) -> None:
    """The range test stops before its last rate, chosen_lr trains well, LR_PEAK diverges at once without
    help and soon after the warmup with it, and clipping brings the same rate down below the start."""
    replay = Replay(instance_number)
    answers = answers_from(replay)
    assert len(replay.range_test()) < STEPS
    chosen = replay.train(lambda k: answers["chosen_lr"])
    assert len(chosen) == STEPS and chosen[-1] < 0.05 * chosen[0]
    without, with_warmup = answers["diverged_at"]
    assert without < 15 and WARMUP_STEPS <= with_warmup < STEPS
    clipped = answers["clipped_losses"]
    assert len(clipped) == STEPS and clipped[-1] < 0.1 * clipped[0]
    assert answers["first_total_norm"] > 5 * MAX_NORM
    if instance_number:
        assert answers["range_losses_to_best"][0] != answers_from(Replay(0))["range_losses_to_best"][0]


# --- legitimate variants: full marks -------------------------------------------------------------------


def test_hand_written_replay_gets_full_marks(replay: Replay, case: Case) -> None:
    """Steps by hand, not torch.optim: the variants below are the notebook's computation changed."""
    assert case.scores(answers_from(replay)) == dict.fromkeys(case.expected, 1.0)


def test_plain_lists_get_full_marks(case: Case) -> None:
    answers = {key: torch.as_tensor(value).tolist() for key, value in case.expected.items()}
    assert case.scores(answers) == dict.fromkeys(case.expected, 1.0)


def test_torch_clipping_in_place_of_the_hand_written_one_gets_full_marks(replay: Replay, case: Case) -> None:
    model = replay.problem.model()
    ((model(replay.X) - replay.y) ** 2).mean().backward()
    total = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM).item()
    answers = {
        **case.expected,
        "first_total_norm": total,
        "clipped_first_grads": torch.cat([p.grad.flatten() for p in model.parameters()]),
    }
    assert case.scores(answers) == dict.fromkeys(case.expected, 1.0)


# --- mistaken variants: no credit, and the message names the mistake ----------------------------------------


def test_range_test_with_late_rates_is_rejected(replay: Replay, case: Case) -> None:
    """Rates set after the step: each step takes the previous step's rate."""
    answers = {**case.expected, "range_losses_to_best": to_best(replay.range_test(late=True))}
    assert case.scores(answers)["range_losses_to_best"] < 0.5
    assert "set before its loss" in case.messages(answers)["range_losses_to_best"]


def test_chosen_lr_by_another_rule_is_rejected(replay: Replay, case: Case) -> None:
    losses = replay.range_test()
    assert "divided by 10" in case.rejected("chosen_lr", 10 * lowest_over_ten(replay, losses))
    assert "not the last one" in case.rejected("chosen_lr", replay.rates[len(losses) - 1] / 10)


@pytest.mark.parametrize(
    "factor",
    [lambda k: k / WARMUP_STEPS, lambda k: (k + 1) / WARMUP_STEPS],
    ids=["starts at zero", "keeps growing"],
)
def test_mistaken_warmup_factors_are_rejected(case: Case, factor: Callable[[int], float]) -> None:
    said = case.rejected("warmup_lrs", [LR_PEAK * factor(k) for k in range(60)])
    assert "step 0" in said


def test_swapped_divergence_steps_are_rejected(case: Case) -> None:
    said = case.rejected("diverged_at", case.expected["diverged_at"][::-1])
    assert "without warmup first" in said


def one_norm_each(gradients: list[torch.Tensor]) -> list[float]:
    return [gradient.norm().item() for gradient in gradients]


def test_wrong_total_norms_are_rejected(replay: Replay, case: Case) -> None:
    norms = one_norm_each(replay.first_gradients())
    total = math.sqrt(sum(norm**2 for norm in norms))
    for wrong in (norms[0], sum(norms) / len(norms), total**2, sum(norms)):
        assert "as one vector" in case.rejected("first_total_norm", wrong)


def test_clipping_each_parameter_on_its_own_is_rejected(replay: Replay, case: Case) -> None:
    gradients = replay.first_gradients()
    for gradient in gradients:
        clip_total([gradient])
    said = case.rejected("clipped_first_grads", torch.cat([gradient.flatten() for gradient in gradients]))
    assert "same factor" in said


def test_runs_clipped_otherwise_are_rejected(replay: Replay, case: Case) -> None:
    """Unclipped, the run diverges; clipped at 10·MAX_NORM, it follows another path. (A factor applied even
    above 1 changes nothing here: the total norm stays above MAX_NORM for all 200 steps.)"""
    for clip in (
        None,
        lambda gradients: clip_total(gradients, 10 * MAX_NORM),
    ):
        losses = replay.train(lambda k: LR_PEAK, clip=clip)
        answers = {**case.expected, "clipped_losses": losses}
        assert case.scores(answers)["clipped_losses"] < 0.5
        case.messages(answers)["clipped_losses"]
