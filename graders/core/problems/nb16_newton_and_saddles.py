"""Notebook 16's problem instances: the quadratic of Newton's step and the saddle function's shape."""

from typing import NamedTuple

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "16_newton_and_saddles"
# κ large enough that gradient descent's 60 steps leave a visible error, small enough that they shrink it;
# never the public 30.
KAPPA_RANGE = (15.0, 25.0)
HIDDEN_SIZES = (3, 5, 6)
# The saddle function ½ a x² − ½ μ y² + ¼ y⁴: at the learning rate 0.1 every curvature (a along x, 2μ at
# the minima) stays far below the stable limit 2/0.1 = 20.
CURVATURE_RANGE = (1.0, 3.0)
X_START_RANGE = (1.0, 3.0)


class Problem(NamedTuple):
    """The quadratic's size, seed and κ; the saddle function's a and μ; where its runs start along x."""

    size: int
    seed: int
    kappa: float
    a: float
    mu: float
    x_start: float


PUBLIC = Problem(size=4, seed=0, kappa=30.0, a=2.0, mu=2.0, x_start=1.5)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 16: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    draw = instance_generator(NOTEBOOK, number)
    return Problem(
        size=int(draw.choice(HIDDEN_SIZES)),
        seed=int(draw.integers(1, 2**31)),
        kappa=round(float(draw.uniform(*KAPPA_RANGE)), 1),
        a=round(float(draw.uniform(*CURVATURE_RANGE)), 2),
        mu=round(float(draw.uniform(*CURVATURE_RANGE)), 2),
        x_start=round(float(draw.choice([-1.0, 1.0]) * draw.uniform(*X_START_RANGE)), 2),
    )
