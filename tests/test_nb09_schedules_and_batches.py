"""Notebook 09: the grader accepts legitimate forms of the answers and catches the typical mistakes.

The runs are recomputed from the notebook's data and seeded batches with one thing changed.
"""

import functools
import math

import numpy as np
import pytest
import torch
from grading_helpers import messages, reference, scores, variant

NOTEBOOK = "09_schedules_and_batches"
SEED, EPOCHS, BATCH_SIZES = 0, 30, (5, 20, 50)
SCHEDULES = ("step decay", "cosine", "1/t")


@functools.cache
def data() -> tuple[torch.Tensor, torch.Tensor, float]:
    generator = torch.Generator().manual_seed(SEED)
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
    batch_size: int,
    learning_rate: float,
    schedule: str | None = None,
    per_batch: bool = False,
    never_stepped: bool = False,
    by_hand: bool = False,
    manual_mse: bool = False,
    last_batch_loss: bool = False,
) -> tuple[float, ...]:
    inputs, targets, best = data()
    shuffle = torch.Generator().manual_seed(SEED)
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


def finals(**options) -> list[float]:
    return [train(20, 0.05, schedule, **options)[-1] for schedule in SCHEDULES]


def noise_ball(curve, last=10) -> float:
    return sum(curve[-last:]) / last


def epochs_below(curve) -> int:
    # A mistaken run may never get there: count it as the whole run.
    return next((epoch for epoch, excess in enumerate(curve, start=1) if excess < 1e-2), EPOCHS)


def batch_answers(scale=lambda size: size / 20, last=10, per_example=200) -> dict:
    fixed = [train(size, 0.05) for size in BATCH_SIZES]
    scaled = [train(size, 0.05 * scale(size)) for size in BATCH_SIZES]
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


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


def test_recomputed_answers_score_full_marks():
    answers = variant(
        NOTEBOOK, constant_excess=list(train(20, 0.05)), schedule_final_excess=finals(), **batch_answers()
    )
    assert set(scores(NOTEBOOK, answers).values()) == {1.0}


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"by_hand": True}, id="learning rates set by hand in param_groups"),
        pytest.param({"manual_mse": True}, id="MSE written out"),
    ],
)
def test_legitimate_ways_of_training_score_full_marks(options):
    answers = variant(
        NOTEBOOK,
        constant_excess=list(train(20, 0.05, manual_mse=options.get("manual_mse", False))),
        schedule_final_excess=finals(**options),
    )
    got = scores(NOTEBOOK, answers)
    assert (got["constant_excess"], got["schedule_final_excess"]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(np.array(finals()), id="array"),
        pytest.param(torch.tensor(finals()), id="tensor"),
        pytest.param(tuple(finals()), id="tuple"),
    ],
)
def test_legitimate_forms_of_the_finals_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, schedule_final_excess=value))["schedule_final_excess"] == 1.0


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"per_batch": True}, id="scheduler stepped per batch"),
        pytest.param({"never_stepped": True}, id="scheduler never stepped"),
        pytest.param({"last_batch_loss": True}, id="excess of the last batch"),
    ],
)
def test_mistaken_schedules_fail_and_say_when_to_step(options):
    answers = variant(NOTEBOOK, schedule_final_excess=finals(**options))
    assert scores(NOTEBOOK, answers)["schedule_final_excess"] == 0.0
    assert "once per epoch" in messages(NOTEBOOK, answers)["schedule_final_excess"]


def test_the_schedules_in_another_order_fail():
    answers = variant(NOTEBOOK, schedule_final_excess=finals()[::-1])
    assert scores(NOTEBOOK, answers)["schedule_final_excess"] == 0.0
    assert "the order is step decay, cosine, 1/t" in messages(NOTEBOOK, answers)["schedule_final_excess"]


@pytest.mark.parametrize(
    "curve",
    [
        pytest.param(train(20, 0.05, last_batch_loss=True), id="excess of the last batch"),
        pytest.param(train(20, 0.01), id="learning rate 0.01"),
        pytest.param(train(5, 0.05), id="batch size 5"),
    ],
)
def test_mistaken_constant_curves_fail(curve):
    answers = variant(NOTEBOOK, constant_excess=list(curve))
    assert scores(NOTEBOOK, answers)["constant_excess"] < 0.1


def test_the_decayed_runs_end_below_the_noise_floor():
    constant = train(20, 0.05)
    assert 5e-4 < noise_ball(constant) < 2e-3
    assert all(final < constant[-1] / 10 for final in finals())


@pytest.mark.parametrize(
    "changes, key",
    [
        pytest.param({"last": EPOCHS}, "noise_ball_fixed_lr", id="mean over all epochs"),
        pytest.param(
            {"scale": lambda size: 20 / size}, "noise_ball_scaled_lr", id="rate scaled the wrong way"
        ),
        pytest.param({"per_example": None}, "gradient_evaluations", id="steps counted, not examples"),
    ],
)
def test_mistaken_batch_answers_fail_and_name_the_cause(changes, key):
    answers = variant(NOTEBOOK, **batch_answers(**changes))
    assert scores(NOTEBOOK, answers)[key] == 0.0
    cause = {
        "noise_ball_fixed_lr": "last 10 epochs",
        "noise_ball_scaled_lr": "the rate grows with B",
        "gradient_evaluations": "not steps",
    }[key]
    assert cause in messages(NOTEBOOK, answers)[key]


def test_scaling_the_rate_keeps_the_noise_ball_and_the_cost_per_example():
    answers = batch_answers()
    scaled = answers["noise_ball_scaled_lr"]
    assert max(scaled) / min(scaled) < 1.5
    fixed = answers["noise_ball_fixed_lr"]
    assert fixed[0] > fixed[1] > fixed[2]
    assert max(answers["gradient_evaluations"][1]) - min(answers["gradient_evaluations"][1]) <= 200
