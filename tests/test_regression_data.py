"""graders.core.regression_data: the regression 04, 09, 11 and 12 train on, drawn as each notebook drew it."""

import torch

from graders.core.regression_data import NOISE_STD, regression_data, with_bias_column


def test_the_data_follow_the_model_they_are_drawn_from() -> None:
    inputs, targets = regression_data(3, (1.0, 2.0), -0.5)
    assert inputs.shape == (200, 2) and targets.shape == (200,) and targets.dtype == torch.float64
    residual = targets - (inputs @ torch.tensor([1.0, 2.0], dtype=torch.float64) - 0.5)
    assert 0.8 * NOISE_STD < residual.std().item() < 1.2 * NOISE_STD


def test_the_same_seed_draws_the_same_data_and_another_seed_other_data() -> None:
    first, again, other = regression_data(7), regression_data(7), regression_data(8)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


def test_scaled_and_shifted_inputs_are_the_standard_draw_scaled_then_shifted() -> None:
    plain, _ = regression_data(0)
    scaled, targets = regression_data(0, scales=(1.0, 3.0, 10.0), shifts=(0.0, 0.0, 5.0))
    assert torch.equal(
        scaled,
        plain * torch.tensor([1.0, 3.0, 10.0], dtype=torch.float64)
        + torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64),
    )
    assert targets.shape == (200,)


def test_the_design_matrix_ends_with_a_column_of_ones() -> None:
    inputs, _ = regression_data(0)
    design = with_bias_column(inputs)
    assert design.shape == (200, 4)
    assert torch.equal(design[:, :3], inputs) and torch.equal(
        design[:, 3], torch.ones(200, dtype=torch.float64)
    )
