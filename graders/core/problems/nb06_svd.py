"""Notebook 06's problem for one instance: the seed of M's vectors and of the start, M's singular values."""

from dataclasses import dataclass

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "06_svd"


@dataclass(frozen=True)
class Problem:
    """`seed` draws M's singular vectors and the starting point; `singular_values` are M's, decreasing."""

    seed: int
    singular_values: tuple[float, ...]


PUBLIC = Problem(seed=0, singular_values=(4.0, 3.0, 2.0, 1.0))
# The smallest singular value and the gaps above it, as in the public 1 and gaps of 1: distinct and well
# separated, so every singular vector is well defined and Adam finds them within the 3000 steps.
SMALLEST = (0.8, 1.2)
GAPS = (0.7, 1.3)
# Adam's late spikes (see the notebook) leave some drawn problems short of convergence after the 3000 steps,
# and on some the factors come out already sorted, which would not test the sorting. Hidden instances cycle
# through these candidates, checked with the notebook's own torch run: reconstruction error below 1e-6,
# orthogonality error below 1e-5, and the factors found out of order.
CONVERGING = (4, 6, 7, 9, 10, 16, 19, 20, 22, 24, 28, 31, 32, 34, 36, 37, 38, 39, 40, 43, 55, 59)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 06: the public problem for 0, else one of the converging candidates."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    return candidate(CONVERGING[(number - 1) % len(CONVERGING)])


def candidate(number: int) -> Problem:
    """Candidate problem `number` (at least 1): singular values and a seed drawn for that number."""
    draws = instance_generator(NOTEBOOK, number)
    seed = int(draws.integers(1, 2**31))
    values = [float(draws.uniform(*SMALLEST))]
    for gap in draws.uniform(*GAPS, size=3):
        values.append(values[-1] + float(gap))
    return Problem(seed=seed, singular_values=tuple(round(value, 2) for value in reversed(values)))
