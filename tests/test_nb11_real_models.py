"""Notebook 11: the grader accepts legitimate forms of the answers and catches the typical mistakes,
on the public instance and on a hidden one.

The fits are recomputed from the instance's data and seeded network with one thing changed.
"""

import functools
import warnings

import numpy as np
import pytest
import torch
from grading_helpers import (
    TRAJECTORY_FORMS,
    GradedInstance,
    case_fixture,
    graded_instances,
)
from torch import nn

from graders.core.instances import PUBLIC_INSTANCE
from graders.core.problems.nb11_real_models import real_models_problem

NOTEBOOK = "11_real_models"
WEIGHT_DECAYS = (0.0, 0.1, 1.0)


@functools.cache
def regression(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(200, 3, dtype=torch.float64, generator=generator)
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    return inputs, inputs @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise


def linear_weights(seed: int, steps=200, flat_targets=False, bias=True, bias_first=False) -> list[float]:
    inputs, targets = regression(seed)
    model = nn.Linear(3, 1, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(inputs)
        # A (200, 1) output against (200,) targets broadcasts to 200 × 200: it fits the mean.
        with warnings.catch_warnings():  # torch warns about that broadcast: it is the mistake under test
            warnings.simplefilter("ignore")
            loss = nn.functional.mse_loss(output, targets if flat_targets else targets[:, None])
        loss.backward()
        optimizer.step()
    weight = model.weight.detach().flatten().tolist()
    if not bias:
        return weight
    return model.bias.detach().tolist() + weight if bias_first else weight + model.bias.detach().tolist()


@functools.cache
def curve_data(seed: int) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    samples = torch.rand(60, 1, dtype=torch.float64, generator=generator) * 4 - 2
    observed = torch.sin(2 * samples) + 0.3 * torch.randn(60, 1, dtype=torch.float64, generator=generator)
    return samples[:20], observed[:20], samples[20:], observed[20:]


def make_network(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(1, 32, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(32, 32, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(32, 1, dtype=torch.float64),
    )


@functools.cache
def fit(
    number: int,
    weight_decay: float,
    adam: bool = False,
    on_training: bool = False,
    after_step: bool = False,
    manual_mse: bool = False,
) -> tuple[tuple[float, ...], float]:
    """Instance `number`'s network trained with one weight decay: its training losses and validation loss."""
    seed, steps = real_models_problem(number)
    train_x, train_y, val_x, val_y = curve_data(seed)
    network = make_network(seed)
    optimiser = torch.optim.Adam if adam else torch.optim.AdamW
    optimizer = optimiser(network.parameters(), lr=0.01, weight_decay=weight_decay)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        prediction = network(train_x)
        loss = (
            ((prediction - train_y) ** 2).mean()
            if manual_mse
            else nn.functional.mse_loss(prediction, train_y)
        )
        if not after_step:
            losses.append(loss.item())
        loss.backward()
        optimizer.step()
        if after_step:
            with torch.no_grad():
                losses.append(nn.functional.mse_loss(network(train_x), train_y).item())
    with torch.no_grad():
        x, y = (train_x, train_y) if on_training else (val_x, val_y)
        return tuple(losses), nn.functional.mse_loss(network(x), y).item()


class Case(GradedInstance):
    """One instance: its problem, its reference answers, and grading against them."""

    notebook = NOTEBOOK

    def __init__(self, number: int, expected: dict | None = None) -> None:
        super().__init__(number, expected)
        self.seed = real_models_problem(number).seed

    def val_losses(self, decay: float = 0.0, **mistake) -> list[float]:
        """The reference's validation losses with the one for `decay` recomputed (each fit takes a while)."""
        losses = list(self.expected["val_losses_by_decay"])
        losses[WEIGHT_DECAYS.index(decay)] = fit(self.number, decay, **mistake)[1]
        return losses


case = case_fixture(Case)


def test_the_public_instance_keeps_seed_0_and_600_steps_and_every_other_draws_its_own():
    problems = [real_models_problem(number) for number in range(8)]
    assert problems[0] == (0, 600)
    assert len({problem.seed for problem in problems}) == len(problems)
    assert all(problem.fit_steps != 600 for problem in problems[1:])


def test_the_reference_scores_full_marks(case):
    assert set(case.scores().values()) == {1.0}


@pytest.mark.parametrize(
    "compute",
    [
        pytest.param(lambda case: linear_weights(case.seed), id="recomputed"),
        pytest.param(lambda case: linear_weights(case.seed, steps=400), id="more steps"),
        pytest.param(lambda case: case.expected["linear_weights"], id="least squares itself"),
        pytest.param(
            lambda case: torch.tensor(linear_weights(case.seed), dtype=torch.float32), id="float32 tensor"
        ),
    ],
)
def test_legitimate_linear_weights_score_full_marks(case, compute):
    assert case.scores(linear_weights=compute(case))["linear_weights"] == 1.0


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"flat_targets": True}, id="targets of shape (200,)"),
        pytest.param({"bias_first": True}, id="bias first"),
        pytest.param({"steps": 5}, id="too few steps"),
    ],
)
def test_mistaken_linear_weights_fail_and_say_why(case, mistake):
    value = linear_weights(case.seed, **mistake)
    assert case.scores(linear_weights=value)["linear_weights"] == 0.0
    assert "(200, 1)" in case.messages(linear_weights=value)["linear_weights"]


def test_linear_weights_without_the_bias_have_the_wrong_shape(case):
    value = linear_weights(case.seed, bias=False)
    assert case.scores(linear_weights=value)["linear_weights"] == 0.0
    assert "wrong shape" in case.messages(linear_weights=value)["linear_weights"]


@pytest.mark.parametrize(
    "value", [pytest.param([[1, 3], [1]], id="lists"), pytest.param(([1, 3], [1]), id="tuple of lists")]
)
def test_legitimate_parameter_shapes_score_full_marks(case, value):
    assert case.scores(parameter_shapes=value)["parameter_shapes"] == 1.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([[3, 1], [1]], id="weight transposed"),
        pytest.param([[1], [1, 3]], id="bias first"),
        pytest.param([[1, 3]], id="bias missing"),
    ],
)
def test_mistaken_parameter_shapes_fail(case, value):
    assert case.scores(parameter_shapes=value)["parameter_shapes"] == 0.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_training_losses_score_full_marks(case, convert):
    value = convert(list(fit(case.number, 0.0)[0]))
    assert case.scores(train_losses_no_decay=value)["train_losses_no_decay"] == 1.0


def test_a_written_out_mse_scores_full_marks(case):
    got = case.scores(
        train_losses_no_decay=list(fit(case.number, 0.0, manual_mse=True)[0]),
        val_losses_by_decay=case.val_losses(manual_mse=True),
    )
    assert (got["train_losses_no_decay"], got["val_losses_by_decay"]) == (1.0, 1.0)


def test_a_loss_recorded_after_the_step_is_diagnosed(case):
    # On the plateau consecutive losses agree within LOOSE, so most steps still match: the message says why
    # the early ones do not.
    value = list(fit(case.number, 0.0, after_step=True)[0])
    assert case.scores(train_losses_no_decay=value)["train_losses_no_decay"] < 1.0
    assert "one step ahead" in case.messages(train_losses_no_decay=value)["train_losses_no_decay"]


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"on_training": True}, id="validation on the training split"),
        pytest.param({"adam": True, "decay": 1.0}, id="Adam's coupled weight decay"),
    ],
)
def test_mistaken_validation_losses_fail_and_name_the_cause(case, mistake):
    value = case.val_losses(**mistake)
    assert case.scores(val_losses_by_decay=value)["val_losses_by_decay"] == 0.0
    assert "not the training split" in case.messages(val_losses_by_decay=value)["val_losses_by_decay"]


@pytest.mark.parametrize("number", graded_instances(PUBLIC_INSTANCE, 1, 2))
def test_every_instance_teaches_the_same_lesson(request, number):
    case = Case.graded(request, number)
    # Task 1: 200 steps reach least squares. Task 2: without decay the network fits the noise, its
    # validation loss several times its training loss, and a decay of 1 costs training loss. Whether the
    # decay then lowers the validation loss depends on the draw (the notebook says so): not asserted.
    inputs, targets = regression(case.seed)
    design = torch.cat([inputs, torch.ones(200, 1, dtype=torch.float64)], dim=1)
    best = torch.linalg.lstsq(design, targets[:, None], driver="gelsd").solution.squeeze(1)
    assert np.allclose(case.expected["linear_weights"], best.numpy(), rtol=1e-10, atol=1e-12)
    no_decay_training = case.expected["train_losses_no_decay"][-1]
    assert case.expected["val_losses_by_decay"][0] > 2 * no_decay_training
    assert np.isclose(fit(case.number, 0.0)[1], case.expected["val_losses_by_decay"][0], rtol=1e-8)
    assert fit(case.number, 1.0)[0][-1] > no_decay_training
