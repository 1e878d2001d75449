"""Notebook 08's problem instances: the start on the stretched bowl and the gradient of task 3."""

from typing import NamedTuple

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "08_adam_by_hand"
# The gradient of task 3 has one coordinate in each of these decades: far below, at and far above the
# ε of 1e-8, 1e-3 and 1, so every ε shows both of Adam's regimes.
GRADIENT_DECADES = (-6, -3, 0, 3)


class AdamProblem(NamedTuple):
    """Where Adam starts on the bowl (tasks 1 and 2), and the one gradient of task 3."""

    start: list[float]
    gradient: list[float]


def adam_problem(number: int) -> AdamProblem:
    """Instance `number`: 0 is the public (8, 8) and gradient (1e-6, 1e-3, 1, 1e3)."""
    if number == PUBLIC_INSTANCE:
        return AdamProblem([8.0, 8.0], [1e-6, 1e-3, 1.0, 1e3])
    draw = instance_generator(NOTEBOOK, number)
    # Each coordinate 4 to 10 away from the minimum, either side: inside the plotted ±12, and far enough
    # that the first steps of length α = 0.5 are a small part of the way.
    start = draw.choice([-1.0, 1.0], 2) * draw.uniform(4.0, 10.0, 2)
    # Up to 5 times the decade's power of ten, two significant digits.
    mantissas = draw.uniform(1.0, 5.0, len(GRADIENT_DECADES))
    decades = zip(mantissas, GRADIENT_DECADES, strict=True)
    gradient = [float(f"{mantissa:.1f}e{decade}") for mantissa, decade in decades]
    return AdamProblem([round(float(value), 1) for value in start], gradient)
