"""Notebook 04's problem for one instance: part 1's targets, part 2's seed, true weights and bias."""

from dataclasses import dataclass

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "04_linear_mapping"


@dataclass(frozen=True)
class Problem:
    """Part 1 maps the fixed x to `targets`; part 2 draws its data from `seed` around the true weights."""

    targets: tuple[float, float, float, float]
    seed: int
    true_weights: tuple[float, float, float]
    true_bias: float


PUBLIC = Problem(targets=(2.0, 3.0, 5.0, 7.0), seed=0, true_weights=(2.0, -3.0, 0.5), true_bias=1.0)
# Part 1's targets: four distinct whole numbers up to this, increasing like the public primes. x stays fixed,
# so the rate ρ = 1 − η‖x‖²/2, and with it which learning rates converge, is every instance's.
LARGEST_TARGET = 9
# Part 2's true weights and bias, to one decimal: on the scale of the public ones, so that SGD with the same
# learning rate and epochs still ends within 1 % of the least-squares loss (the noise sets that, not them).
WEIGHT_RANGE = (-3.0, 3.0)
BIAS_RANGE = (-2.0, 2.0)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 04: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    draws = instance_generator(NOTEBOOK, number)
    targets = PUBLIC.targets
    while targets == PUBLIC.targets:
        chosen = draws.choice(range(1, LARGEST_TARGET + 1), size=4, replace=False)
        targets = tuple(float(target) for target in sorted(chosen))
    return Problem(
        targets=targets,
        seed=int(draws.integers(1, 2**31)),
        # + 0.0 turns a -0.0 from rounding into a plain 0.0 in the printed problem.
        true_weights=tuple(round(float(weight), 1) + 0.0 for weight in draws.uniform(*WEIGHT_RANGE, size=3)),
        true_bias=round(float(draws.uniform(*BIAS_RANGE)), 1) + 0.0,
    )
