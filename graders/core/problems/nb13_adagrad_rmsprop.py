"""Notebook 13's problem instances: the start on the bowl, its condition number and RMSProp's smoothing α."""

from typing import NamedTuple

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "13_adagrad_rmsprop"
# κ large enough that plain gradient descent at its best fixed step needs over three times the steps
# Adagrad and RMSProp need to reach the tolerance (they are blind to each axis's curvature), and small enough
# that it gets there within the notebook's 500 steps; never the public 50.
KAPPA_RANGE = (70.0, 110.0)
# Smoothing constants other than torch's default 0.99 (the public one): RMSProp's first step is then
# 1/√(1 − α) times Adam's with β₁ = 0 by another factor on every hidden instance.
HIDDEN_ALPHAS = (0.9, 0.95, 0.98)


class Problem(NamedTuple):
    """Where every run starts, the bowl's condition number κ (curvatures 1 and κ), and RMSProp's α."""

    start: tuple[float, float]
    kappa: float
    alpha: float


PUBLIC = Problem(start=(4.0, 3.0), kappa=50.0, alpha=0.99)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 13: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    draw = instance_generator(NOTEBOOK, number)
    # Each coordinate 3 to 6 from the minimum, either side: inside the plotted ±7, and far
    # enough that Adagrad's first steps of length lr = 1 are a part of the way, not all of it.
    start = draw.choice([-1.0, 1.0], 2) * draw.uniform(3.0, 6.0, 2)
    return Problem(
        start=(round(float(start[0]), 1), round(float(start[1]), 1)),
        kappa=round(float(draw.uniform(*KAPPA_RANGE)), 1),
        alpha=float(draw.choice(HIDDEN_ALPHAS)),
    )
