"""Notebook 00's problem on one instance: the numbers its tasks differentiate (graders.core.instances)."""

from dataclasses import dataclass

import numpy as np

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "00_autograd"
# Task 5 computes a * 2 in each of these ways: as is, inside torch.no_grad(), or followed by .detach().
WAYS = ("plain", "no_grad", "detach")
# Task 1's coefficients on hidden instances: quarters from -4 to 4 (exact in float32), never 0 (no
# gradient to see) nor 1 (the public problem's); many, so that two instances rarely share both.
COEFFICIENTS = tuple(quarter / 4 for quarter in range(-16, 17) if quarter not in (0, 4))


@dataclass(frozen=True)
class Problem:
    """What one instance of notebook 00 gives the student, in plain Python numbers that torch.tensor takes."""

    weights: tuple[float, float]  # task 1: L = weights[0]·x + weights[1]·y
    point: tuple[float, float]  # task 1: the values of x and y
    matrix: list[list[float]]  # task 2: X, integers so that 20·X is exact in float32
    w: list[float]  # task 4: the leaf whose gradient accumulates
    ways: tuple[str, ...]  # task 5: the order in which a * 2 is computed each way


def problem(number: int) -> Problem:
    """Instance `number` of notebook 00: the public problem for 0, else drawn from its own generator."""
    if number == PUBLIC_INSTANCE:
        return Problem((1.0, 1.0), (2.0, 3.0), np.arange(1.0, 13.0).reshape(3, 4).tolist(), [1.0, 2.0], WAYS)
    rng = instance_generator(NOTEBOOK, number)
    weights = tuple(float(c) for c in rng.choice(COEFFICIENTS, size=2, replace=False))
    point = tuple(float(v) for v in rng.integers(1, 10, size=2))
    shape = (int(rng.integers(2, 5)), int(rng.integers(3, 6)))
    matrix = nonzero_integers(rng, shape, 12).tolist()
    w = nonzero_integers(rng, (int(rng.integers(2, 5)),), 5).tolist()
    while w == [1.0, 2.0]:
        w = nonzero_integers(rng, (2,), 5).tolist()
    return Problem(weights, point, matrix, w, hidden_ways(rng))


def nonzero_integers(rng: np.random.Generator, shape: tuple[int, ...], largest: int) -> np.ndarray:
    """Whole numbers from -largest to largest without 0, as floats."""
    magnitudes = rng.integers(1, largest + 1, size=shape)
    return (magnitudes * rng.choice((-1, 1), size=shape)).astype(float)


def hidden_ways(rng: np.random.Generator) -> tuple[str, ...]:
    """Three to five computations using every way at least once, whose flags differ from the public ones."""
    while True:
        extra = rng.choice(WAYS, size=int(rng.integers(0, 3))).tolist()
        ways = tuple(str(way) for way in rng.permutation(list(WAYS) + extra))
        if tracked(ways) != tracked(WAYS):
            return ways


def tracked(ways: tuple[str, ...]) -> list[bool]:
    """Which of task 5's results require grad: only those computed as is."""
    return [way == "plain" for way in ways]
