"""Notebook 12's problem instances: the seed of the features and how badly they are scaled and shifted."""

from typing import NamedTuple

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "12_conditioning"


class ConditioningProblem(NamedTuple):
    """The seed of the data, and each feature's scale and mean."""

    seed: int
    scales: list[float]
    shifts: list[float]


def conditioning_problem(number: int) -> ConditioningProblem:
    """Instance `number`: 0 is the public seed 0, scales (1, 3, 10) and the third feature's mean 5.

    Others keep that shape: one feature of scale 1, one of 2 to 4, and one of 7 to 13 whose mean is 0.4 to
    0.65 times its scale (the public 0.5), which keeps the raw Hessian's κ between about 100 and 270;
    standardising brings it near 1, scaling without centring only to about 2 to 4.
    """
    if number == PUBLIC_INSTANCE:
        return ConditioningProblem(0, [1.0, 3.0, 10.0], [0.0, 0.0, 5.0])
    draw = instance_generator(NOTEBOOK, number)
    seed = int(draw.integers(2**31))
    scales = [1.0, round(float(draw.uniform(2.0, 4.0)), 1), float(draw.integers(7, 14))]
    mean = round(scales[2] * float(draw.uniform(0.4, 0.65)), 1)
    return ConditioningProblem(seed, scales, [0.0, 0.0, mean])
