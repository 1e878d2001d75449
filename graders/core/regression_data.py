"""The noisy linear regression that notebooks 04, 09, 11 and 12 train on, drawn in one place.

targets = inputs @ true_weights + true_bias + noise_std · noise, with standard normal inputs (each column
scaled by `scales` and shifted by `shifts`, if given) and standard normal noise, both drawn from `seed`.
"""

from collections.abc import Sequence

import torch

EXAMPLES = 200
TRUE_WEIGHTS = (2.0, -3.0, 0.5)
TRUE_BIAS = 1.0
NOISE_STD = 0.1


def regression_data(
    seed: int,
    true_weights: Sequence[float] = TRUE_WEIGHTS,
    true_bias: float = TRUE_BIAS,
    scales: Sequence[float] | None = None,
    shifts: Sequence[float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) in float64: EXAMPLES rows of len(true_weights) inputs, and one target each."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(EXAMPLES, len(true_weights), dtype=torch.float64, generator=generator)
    if scales is not None:
        inputs = inputs * torch.tensor(scales, dtype=torch.float64)
    if shifts is not None:
        inputs = inputs + torch.tensor(shifts, dtype=torch.float64)
    noise = NOISE_STD * torch.randn(EXAMPLES, dtype=torch.float64, generator=generator)
    targets = inputs @ torch.tensor(true_weights, dtype=torch.float64) + true_bias + noise
    return inputs, targets


def with_bias_column(inputs: torch.Tensor) -> torch.Tensor:
    """[inputs, 1]: the design matrix A whose last weight is the bias."""
    return torch.cat([inputs, torch.ones(len(inputs), 1, dtype=inputs.dtype)], dim=1)
