"""Notebook 07's problem for one instance: where the paths on the bowl start, and the three κ."""

from dataclasses import dataclass

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "07_momentum"


@dataclass(frozen=True)
class Problem:
    """The point tasks 1 and 2 start from, and the κ of tasks 3 and 4, about 10, 100 and 1000."""

    start: tuple[float, float]
    kappas: tuple[int, int, int]


PUBLIC = Problem(start=(8.0, 8.0), kappas=(10, 100, 1000))
# Each coordinate of a hidden start: a magnitude in this range, either sign (the plot shows ±10).
START_MAGNITUDES = (4.0, 9.0)
# A hidden κ is 10^d moved by a factor 10^±e, e in this range: still one per decade, never the public one.
KAPPA_SHIFT = (0.03, 0.12)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 07: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    draws = instance_generator(NOTEBOOK, number)
    start = draws.uniform(*START_MAGNITUDES, size=2).round(1) * draws.choice((-1.0, 1.0), size=2)
    shifts = draws.uniform(*KAPPA_SHIFT, size=3) * draws.choice((-1.0, 1.0), size=3)
    kappas = (round(10 ** (decade + shift)) for decade, shift in zip((1, 2, 3), shifts, strict=True))
    return Problem(start=(float(start[0]), float(start[1])), kappas=tuple(int(kappa) for kappa in kappas))
