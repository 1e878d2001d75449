"""Notebook 05's problem for one instance: the matrices' size, the seed of their vectors, their two κ."""

from dataclasses import dataclass

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "05_matrix_inverse"


@dataclass(frozen=True)
class Problem:
    """What the answers depend on: A is size × size, `seed` draws U, V and b, σ runs from 1 down to 1/κ."""

    size: int
    seed: int
    kappa_well: float
    kappa_ill: float


PUBLIC = Problem(size=4, seed=0, kappa_well=2.0, kappa_ill=20.0)
# κ ranges around the public 2 and 20 that keep the lesson: at lr 0.5 the ill-conditioned loss still
# needs over a thousand of the 1500 steps to reach 1e-3 (about 3.45 κ² steps, so κ ≤ 20.5), the
# well-conditioned one a dozen or so. Neither range holds the public value, so every count differs from it.
KAPPA_WELL_RANGE = (1.6, 2.4)
KAPPA_ILL_RANGE = (17.0, 19.5)
# Every loss history starts at ‖I‖²_F = size: a size other than the public 4 keeps even that step apart.
HIDDEN_SIZES = (3, 5, 6)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 05: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return PUBLIC
    draws = instance_generator(NOTEBOOK, number)
    return Problem(
        size=int(draws.choice(HIDDEN_SIZES)),
        seed=int(draws.integers(1, 2**31)),
        kappa_well=round(float(draws.uniform(*KAPPA_WELL_RANGE)), 2),
        kappa_ill=round(float(draws.uniform(*KAPPA_ILL_RANGE)), 1),
    )
