"""Notebook 09: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

The runs are recomputed from the instance's data and seeded batches with one thing changed.
"""

import functools
import math

import numpy as np
import pytest
import torch
from grading_helpers import GradedInstance, case_fixture

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb09_schedules_and_batches import SMALLEST_CURVATURE, data_seed, smallest_curvature

NOTEBOOK = "09_schedules_and_batches"
EPOCHS, BATCH_SIZES = 30, (5, 20, 50)
SCHEDULES = ("step decay", "cosine", "1/t")


@functools.cache
def data(seed: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(200, 3, dtype=torch.float64, generator=generator)
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    targets = inputs @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise
    design = torch.cat([inputs, torch.ones(200, 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(design, targets[:, None], driver="gelsd").solution.squeeze(1)
    return inputs, targets, torch.nn.functional.mse_loss(design @ solution, targets).item()


def closed_form_rate(schedule: str, epoch: int) -> float:
    """The schedules' learning rates written out, as a student setting param_groups by hand would."""
    if schedule == "step decay":
        return 0.05 * 0.1 ** (epoch // 10)
    if schedule == "cosine":
        return 0.05 * (1 + math.cos(math.pi * epoch / EPOCHS)) / 2
    return 0.05 * 5 / (5 + epoch)


def make_scheduler(schedule: str, optimizer: torch.optim.Optimizer):
    lr_scheduler = torch.optim.lr_scheduler
    if schedule == "step decay":
        return lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.1)
    if schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)
    return lr_scheduler.LambdaLR(optimizer, lambda epoch: 5 / (5 + epoch))


@functools.cache
def train(
    seed: int,
    batch_size: int,
    learning_rate: float,
    schedule: str | None = None,
    per_batch: bool = False,
    never_stepped: bool = False,
    by_hand: bool = False,
    manual_mse: bool = False,
    last_batch_loss: bool = False,
) -> tuple[float, ...]:
    inputs, targets, best = data(seed)
    shuffle = torch.Generator().manual_seed(seed)
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=learning_rate)
    scheduler = make_scheduler(schedule, optimizer) if schedule and not by_hand else None
    excess = []
    for epoch in range(EPOCHS):
        if schedule and by_hand:
            optimizer.param_groups[0]["lr"] = closed_form_rate(schedule, epoch)
        order = torch.randperm(200, generator=shuffle)
        for start in range(0, 200, batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            prediction = inputs[batch] @ w + b
            if manual_mse:
                loss = ((prediction - targets[batch]) ** 2).mean()
            else:
                loss = torch.nn.functional.mse_loss(prediction, targets[batch])
            loss.backward()
            optimizer.step()
            if scheduler and per_batch:
                scheduler.step()
        if scheduler and not per_batch and not never_stepped:
            scheduler.step()
        with torch.no_grad():
            if last_batch_loss:
                excess.append(loss.item() / best - 1)
            else:
                excess.append(torch.nn.functional.mse_loss(inputs @ w + b, targets).item() / best - 1)
    return tuple(excess)


def finals(seed: int, **options) -> list[float]:
    return [train(seed, 20, 0.05, schedule, **options)[-1] for schedule in SCHEDULES]


def noise_ball(curve, last=10) -> float:
    return sum(curve[-last:]) / last


def epochs_below(curve) -> int:
    # A mistaken run may never get there: count it as the whole run.
    return next((epoch for epoch, excess in enumerate(curve, start=1) if excess < 1e-1), EPOCHS)


def batch_answers(seed: int, scale=lambda size: size / 20, last=10, per_example=200) -> dict:
    fixed = [train(seed, size, 0.05) for size in BATCH_SIZES]
    scaled = [train(seed, size, 0.05 * scale(size)) for size in BATCH_SIZES]
    steps = [200 // size for size in BATCH_SIZES]
    evaluations = [
        [epochs_below(curve) * (per_example or steps[index]) for index, curve in enumerate(runs)]
        for runs in (fixed, scaled)
    ]
    return {
        "noise_ball_fixed_lr": [noise_ball(curve, last) for curve in fixed],
        "noise_ball_scaled_lr": [noise_ball(curve, last) for curve in scaled],
        "gradient_evaluations": evaluations,
    }


class Case(GradedInstance):
    """One instance: its data seed, its reference answers, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        self.seed = data_seed(number)


case = case_fixture(Case)


def test_the_public_instance_keeps_seed_0_and_every_other_draws_a_vetted_seed_of_its_own():
    seeds = [data_seed(number) for number in range(8)]
    assert seeds[0] == 0 and len(set(seeds)) == len(seeds)
    assert all(smallest_curvature(seed) >= SMALLEST_CURVATURE for seed in seeds)


def test_the_reference_scores_full_marks(case):
    assert set(case.scores().values()) == {1.0}


def test_recomputed_answers_score_full_marks(case):
    got = case.scores(
        constant_excess=list(train(case.seed, 20, 0.05)),
        schedule_final_excess=finals(case.seed),
        **batch_answers(case.seed),
    )
    assert set(got.values()) == {1.0}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"by_hand": True}, id="learning rates set by hand in param_groups"),
        pytest.param({"manual_mse": True}, id="MSE written out"),
    ],
)
def test_legitimate_ways_of_training_score_full_marks(case, options):
    got = case.scores(
        constant_excess=list(train(case.seed, 20, 0.05, manual_mse=options.get("manual_mse", False))),
        schedule_final_excess=finals(case.seed, **options),
    )
    assert (got["constant_excess"], got["schedule_final_excess"]) == (1.0, 1.0)


@pytest.mark.parametrize("form", [np.array, torch.tensor, tuple], ids=["array", "tensor", "tuple"])
def test_legitimate_forms_of_the_finals_score_full_marks(case, form):
    assert case.scores(schedule_final_excess=form(finals(case.seed)))["schedule_final_excess"] == 1.0


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"per_batch": True}, id="scheduler stepped per batch"),
        pytest.param({"never_stepped": True}, id="scheduler never stepped"),
        pytest.param({"last_batch_loss": True}, id="excess of the last batch"),
    ],
)
def test_mistaken_schedules_fail_and_ask_when_to_step(case, options):
    value = finals(case.seed, **options)
    assert case.scores(schedule_final_excess=value)["schedule_final_excess"] == 0.0
    assert "once per epoch" in case.messages(schedule_final_excess=value)["schedule_final_excess"]


def test_the_schedules_in_another_order_fail(case):
    value = finals(case.seed)[::-1]
    assert case.scores(schedule_final_excess=value)["schedule_final_excess"] == 0.0
    assert "the table's order" in case.messages(schedule_final_excess=value)["schedule_final_excess"]


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"last_batch_loss": True}, id="excess of the last batch"),
        pytest.param({"learning_rate": 0.01}, id="learning rate 0.01"),
        pytest.param({"batch_size": 5}, id="batch size 5"),
    ],
)
def test_mistaken_constant_curves_fail(case, mistake):
    settings = {"batch_size": 20, "learning_rate": 0.05} | mistake
    curve = list(train(case.seed, **settings))
    assert case.scores(constant_excess=curve)["constant_excess"] < 0.1


@pytest.mark.parametrize(
    "changes, key, cause",
    [
        pytest.param({"last": EPOCHS}, "noise_ball_fixed_lr", "last 10 epochs", id="mean over all epochs"),
        pytest.param(
            {"scale": lambda size: 20 / size},
            "noise_ball_scaled_lr",
            "grow with B",
            id="rate scaled the wrong way",
        ),
        pytest.param(
            {"per_example": None}, "gradient_evaluations", "not the steps", id="steps counted, not examples"
        ),
    ],
)
def test_mistaken_batch_answers_fail_and_name_the_cause(case, changes, key, cause):
    answers = batch_answers(case.seed, **changes)
    assert case.scores(**answers)[key] == 0.0
    assert cause in case.messages(**answers)[key]


@pytest.mark.parametrize("number", [PUBLIC_INSTANCE, 1, 2])
def test_every_instance_teaches_the_same_lesson(number):
    seed = data_seed(number)
    # The decayed runs end below the noise floor of the constant step, by a factor of two at least.
    constant = train(seed, 20, 0.05)
    assert 3e-4 < noise_ball(constant) < 2e-3
    assert all(final < noise_ball(constant) / 2 for final in finals(seed))
    # At a fixed rate a larger batch settles in a smaller ball but costs more examples; a rate scaled with
    # the batch keeps the ball within a factor of two and the cost within an epoch.
    answers = batch_answers(seed)
    fixed, scaled = answers["noise_ball_fixed_lr"], answers["noise_ball_scaled_lr"]
    assert fixed[0] > fixed[1] > fixed[2] and fixed[0] > 100 * fixed[2]
    assert max(scaled) / min(scaled) < 2
    # The level the cost is counted at lies above every ball, so each run reaches it by descending.
    assert max(fixed + scaled) < 1e-1 / 2
    evaluations = answers["gradient_evaluations"]
    assert evaluations[0][2] > 2 * evaluations[0][1]
    assert max(evaluations[1]) - min(evaluations[1]) <= 200
