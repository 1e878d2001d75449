"""Notebook 11: the grader accepts legitimate forms of the answers and catches the typical mistakes.

The fits are recomputed from the notebook's data and seeded network with one thing changed.
"""

import functools
import warnings

import numpy as np
import pytest
import torch
from grading_helpers import TRAJECTORY_FORMS, messages, reference, scores, variant
from torch import nn

NOTEBOOK = "11_real_models"
SEED, FIT_STEPS, WEIGHT_DECAYS = 0, 600, (0.0, 0.1, 1.0)


@functools.cache
def regression() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(SEED)
    inputs = torch.randn(200, 3, dtype=torch.float64, generator=generator)
    noise = 0.1 * torch.randn(200, dtype=torch.float64, generator=generator)
    return inputs, inputs @ torch.tensor([2.0, -3.0, 0.5], dtype=torch.float64) + 1.0 + noise


def linear_weights(steps=200, flat_targets=False, bias=True, bias_first=False) -> list[float]:
    inputs, targets = regression()
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
def curve_data() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(SEED)
    samples = torch.rand(60, 1, dtype=torch.float64, generator=generator) * 4 - 2
    observed = torch.sin(2 * samples) + 0.3 * torch.randn(60, 1, dtype=torch.float64, generator=generator)
    return samples[:20], observed[:20], samples[20:], observed[20:]


def make_network() -> nn.Module:
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Linear(1, 32, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(32, 32, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(32, 1, dtype=torch.float64),
    )


@functools.cache
def fit(
    weight_decay: float, adam: bool = False, on_training=False, after_step=False, manual_mse=False
) -> tuple[tuple[float, ...], float]:
    train_x, train_y, val_x, val_y = curve_data()
    network = make_network()
    optimiser = torch.optim.Adam if adam else torch.optim.AdamW
    optimizer = optimiser(network.parameters(), lr=0.01, weight_decay=weight_decay)
    losses = []
    for _ in range(FIT_STEPS):
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


def val_losses(decay: float = 0.0, **mistake) -> list[float]:
    """The reference's validation losses with the one for `decay` recomputed (each fit takes a while)."""
    losses = list(reference(NOTEBOOK)["val_losses_by_decay"])
    losses[WEIGHT_DECAYS.index(decay)] = fit(decay, **mistake)[1]
    return losses


def test_reference_scores_full_marks():
    assert set(scores(NOTEBOOK, reference(NOTEBOOK)).values()) == {1.0}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(linear_weights(), id="recomputed"),
        pytest.param(linear_weights(steps=400), id="more steps"),
        pytest.param(reference(NOTEBOOK)["linear_weights"], id="least squares itself"),
        pytest.param(torch.tensor(linear_weights(), dtype=torch.float32), id="float32 tensor"),
    ],
)
def test_legitimate_linear_weights_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, linear_weights=value))["linear_weights"] == 1.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(linear_weights(flat_targets=True), id="targets of shape (200,)"),
        pytest.param(linear_weights(bias_first=True), id="bias first"),
        pytest.param(linear_weights(steps=5), id="too few steps"),
    ],
)
def test_mistaken_linear_weights_fail_and_say_why(value):
    answers = variant(NOTEBOOK, linear_weights=value)
    assert scores(NOTEBOOK, answers)["linear_weights"] == 0.0
    assert "targets[:, None]" in messages(NOTEBOOK, answers)["linear_weights"]


def test_linear_weights_without_the_bias_have_the_wrong_shape():
    answers = variant(NOTEBOOK, linear_weights=linear_weights(bias=False))
    assert scores(NOTEBOOK, answers)["linear_weights"] == 0.0
    assert "wrong shape" in messages(NOTEBOOK, answers)["linear_weights"]


@pytest.mark.parametrize(
    "value", [pytest.param([[1, 3], [1]], id="lists"), pytest.param(([1, 3], [1]), id="tuple of lists")]
)
def test_legitimate_parameter_shapes_score_full_marks(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, parameter_shapes=value))["parameter_shapes"] == 1.0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param([[3, 1], [1]], id="weight transposed"),
        pytest.param([[1], [1, 3]], id="bias first"),
        pytest.param([[1, 3]], id="bias missing"),
    ],
)
def test_mistaken_parameter_shapes_fail(value):
    assert scores(NOTEBOOK, variant(NOTEBOOK, parameter_shapes=value))["parameter_shapes"] == 0.0


@pytest.mark.parametrize("convert", TRAJECTORY_FORMS)
def test_legitimate_forms_of_the_training_losses_score_full_marks(convert):
    answers = variant(NOTEBOOK, train_losses_no_decay=convert(list(fit(0.0)[0])))
    assert scores(NOTEBOOK, answers)["train_losses_no_decay"] == 1.0


def test_a_written_out_mse_scores_full_marks():
    answers = variant(
        NOTEBOOK,
        train_losses_no_decay=list(fit(0.0, manual_mse=True)[0]),
        val_losses_by_decay=val_losses(manual_mse=True),
    )
    got = scores(NOTEBOOK, answers)
    assert (got["train_losses_no_decay"], got["val_losses_by_decay"]) == (1.0, 1.0)


def test_a_loss_recorded_after_the_step_is_diagnosed():
    # On the plateau consecutive losses agree within LOOSE, so most steps still match: the message says why
    # the early ones do not.
    answers = variant(NOTEBOOK, train_losses_no_decay=list(fit(0.0, after_step=True)[0]))
    assert scores(NOTEBOOK, answers)["train_losses_no_decay"] < 1.0
    assert "one step ahead" in messages(NOTEBOOK, answers)["train_losses_no_decay"]


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param({"on_training": True}, id="validation on the training split"),
        pytest.param({"adam": True, "decay": 1.0}, id="Adam's coupled weight decay"),
    ],
)
def test_mistaken_validation_losses_fail_and_name_the_cause(mistake):
    answers = variant(NOTEBOOK, val_losses_by_decay=val_losses(**mistake))
    assert scores(NOTEBOOK, answers)["val_losses_by_decay"] == 0.0
    assert "not the training split" in messages(NOTEBOOK, answers)["val_losses_by_decay"]


def test_weight_decay_lowers_the_validation_loss():
    losses = reference(NOTEBOOK)["val_losses_by_decay"]
    assert losses[0] > losses[1] > losses[2]
    assert np.isclose(fit(0.0)[1], losses[0], rtol=1e-8)
