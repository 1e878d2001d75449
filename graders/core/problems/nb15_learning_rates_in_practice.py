"""Notebook 15's problem for one instance: the seed of the regression data and of the network's weights."""

from dataclasses import dataclass

import torch

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "15_learning_rates_in_practice"
POINTS, FEATURES, WIDTH = 128, 2, 16
# The range test's rates are 1e-4 · 10^(5k/(steps − 1)): 199 is prime, so no hidden grid of these lengths
# holds a rate of the public grid but its ends, and chosen_lr (a rate of the grid over 10) differs from it.
PUBLIC_RANGE_STEPS = 200
HIDDEN_RANGE_STEPS = tuple(steps for steps in range(180, 231) if steps != PUBLIC_RANGE_STEPS)


@dataclass(frozen=True)
class Problem:
    """`seed` draws the data (its own generator) and the network's initial weights (torch.manual_seed);
    the LR range test spans 1e-4 to 10 in `range_steps` steps."""

    seed: int
    range_steps: int

    def data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (POINTS × FEATURES) and targets (POINTS × 1), float64: a smooth curve, offset, noise."""
        generator = torch.Generator().manual_seed(self.seed)
        inputs = torch.randn(POINTS, FEATURES, dtype=torch.float64, generator=generator)
        curve = torch.sin(2 * inputs[:, 0]) + 0.5 * inputs[:, 1] ** 2 + 3.0
        noise = 0.1 * torch.randn(POINTS, dtype=torch.float64, generator=generator)
        return inputs, (curve + noise).unsqueeze(1)

    def model(self) -> torch.nn.Sequential:
        """The network FEATURES → WIDTH → 1 with tanh, float64, in the same initial state at every call."""
        torch.manual_seed(self.seed)
        layers = [torch.nn.Linear(FEATURES, WIDTH), torch.nn.Tanh(), torch.nn.Linear(WIDTH, 1)]
        return torch.nn.Sequential(*layers).double()


def problem(number: int) -> Problem:
    """Instance `number` of notebook 15: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return Problem(seed=0, range_steps=PUBLIC_RANGE_STEPS)
    draws = instance_generator(NOTEBOOK, number)
    seed = int(draws.integers(1, 2**31))
    return Problem(seed=seed, range_steps=int(draws.choice(HIDDEN_RANGE_STEPS)))
