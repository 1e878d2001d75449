"""Notebook 01's problem on one instance: the start point, the stretched bowl and the θ settings."""

from dataclasses import dataclass

import numpy as np

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "01_gradient_steps"
# The stretched bowl's Hessian 10·(Γ + Γᵀ) on every instance: its flat direction still converges in the
# 500 steps of α = 0.001 (smallest eigenvalue), and it stays about as badly conditioned as the public one
# (92.4 / 7.57 ≈ 12).
SMALLEST_CURVATURE = (6.0, 10.0)
CONDITION_NUMBER = (9.0, 16.0)
# Start coordinates stay inside the notebook's contour plots, [-10, 10]².
LARGEST_START = 9
PUBLIC_GAMMA = [[1.0, -4.0], [1.0, 4.0]]


@dataclass(frozen=True)
class Problem:
    """What one instance of notebook 01 gives the student, in plain Python numbers."""

    start: tuple[float, float]  # where every run on the two bowls starts
    gamma: list[list[float]]  # Γ of the stretched bowl g(v) = 10·vᵀΓv, not symmetric
    theta_settings: list[tuple[float, float, int]]  # task 3: (θ0, α, number of steps) for L = θ²


def problem(number: int) -> Problem:
    """Instance `number` of notebook 01: the public problem for 0, else drawn from its own generator."""
    if number == PUBLIC_INSTANCE:
        return Problem((8.0, 8.0), PUBLIC_GAMMA, [(1.0, 0.1, 20), (-3.0, 0.3, 5)])
    rng = instance_generator(NOTEBOOK, number)
    gamma = stretched_bowl(rng)
    return Problem(start_point(rng, gamma), gamma.tolist(), theta_settings(rng))


def stretched_bowl(rng: np.random.Generator) -> np.ndarray:
    """A non-symmetric Γ of tenths whose Hessian 10·(Γ + Γᵀ) is rotated and conditioned like the public one;
    tenths rather than whole numbers, so that two instances rarely share a curvature."""
    public_largest = curvatures(np.array(PUBLIC_GAMMA))[1]
    while True:
        diagonal = rng.integers(5, 61, size=2) / 10
        off_diagonal = rng.integers(-60, 61, size=2) / 10
        gamma = np.array([[diagonal[0], off_diagonal[0]], [off_diagonal[1], diagonal[1]]])
        smallest, largest = curvatures(gamma)
        if (
            off_diagonal.sum() != 0  # rotated: the bowl's axes are not the coordinate axes
            # far from symmetric, so that the eigenvalues of Γ itself are a visibly wrong curvature
            and abs(off_diagonal[0] - off_diagonal[1]) >= 2
            # a stable limit 1 % or more away from the public one, so no copy of it
            and abs(largest - public_largest) > 0.01 * public_largest
            and SMALLEST_CURVATURE[0] <= smallest <= SMALLEST_CURVATURE[1]
            and CONDITION_NUMBER[0] <= largest / smallest <= CONDITION_NUMBER[1]
        ):
            return gamma


def curvatures(gamma: np.ndarray) -> np.ndarray:
    """The eigenvalues of the stretched bowl's Hessian 10·(Γ + Γᵀ), ascending."""
    return np.linalg.eigvalsh(10 * (gamma + gamma.T))


def start_point(rng: np.random.Generator, gamma: np.ndarray) -> tuple[float, float]:
    """Whole coordinates off the public (8, 8), with a visible share along the bowl's steep direction,
    so the trajectory first drops down the wall and then creeps along the valley."""
    steep = np.linalg.eigh(gamma + gamma.T)[1][:, 1]
    while True:
        start = rng.integers(4, LARGEST_START + 1, size=2) * rng.choice((-1, 1), size=2)
        if abs(steep @ start) >= 0.3 * np.linalg.norm(start) and tuple(start) != (8, 8):
            return (float(start[0]), float(start[1]))


def theta_settings(rng: np.random.Generator) -> list[tuple[float, float, int]]:
    """Two (θ0, α, steps) for L = θ²: stable, monotone, with different α and steps, and final θ from 1e-3
    to 1 in size, so that a wrong α, sign or count shows."""
    while True:
        settings = [
            (float(rng.integers(-50, 51) / 10), float(rng.integers(5, 36) / 100), int(rng.integers(3, 26)))
            for _ in range(2)
        ]
        finals = [abs(theta * (1 - 2 * rate) ** steps) for theta, rate, steps in settings]
        distinct = settings[0][1] != settings[1][1] and settings[0][2] != settings[1][2]
        if distinct and all(1e-3 <= final <= 1.0 for final in finals):
            return settings
