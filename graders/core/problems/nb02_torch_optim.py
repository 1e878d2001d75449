"""Notebook 02's problem on one instance: a stretched bowl like notebook 01's, and the SGD settings."""

from dataclasses import dataclass

import numpy as np

from graders.core.instances import PUBLIC_INSTANCE, instance_generator
from graders.core.problems import nb01_gradient_steps

NOTEBOOK = "02_torch_optim"
# The vector task's final θ0·(1 − 2α)^n stays this large at least, so that a wrong α, sign or count shows
# against the grading tolerances.
SMALLEST_NORM_RESULT = 1e-5
# AdamW(lr=1) brings any start within 1e-6 of the minimum in about 300 steps, where every run, a copy of
# another instance's too, agrees within the grading tolerance: a hidden instance's run stops while it is
# still a thousandth of the way out (the function down by a factor of 1e5 or more, converged for the eye).
HIDDEN_ADAMW_STEPS = (80, 120)


@dataclass(frozen=True)
class Problem:
    """What one instance of notebook 02 gives the student, in plain Python numbers."""

    start: tuple[float, float]  # where the SGD and AdamW runs start
    gamma: list[list[float]]  # Γ of the stretched bowl g(v) = 10·vᵀΓv, not symmetric
    theta_settings: list[tuple[float, float, int]]  # task 3, scalar: (θ0, α, number of steps) for L = θ²
    norm_setting: tuple[list[float], float, int]  # task 3, vector: (θ0, α, number of steps) for ‖θ‖²
    adamw_steps: int  # task 2: the AdamW run's number of steps


def problem(number: int) -> Problem:
    """Instance `number` of notebook 02: the public problem for 0, else drawn from its own generator with
    notebook 01's rules, so that the bowl keeps notebook 01's conditioning."""
    if number == PUBLIC_INSTANCE:
        public = nb01_gradient_steps.problem(PUBLIC_INSTANCE)
        return Problem(public.start, public.gamma, public.theta_settings, ([1.0, -1.0], 0.2, 20), 500)
    rng = instance_generator(NOTEBOOK, number)
    gamma = nb01_gradient_steps.stretched_bowl(rng)
    start = nb01_gradient_steps.start_point(rng, gamma)
    settings = nb01_gradient_steps.theta_settings(rng)
    adamw_steps = int(rng.integers(HIDDEN_ADAMW_STEPS[0], HIDDEN_ADAMW_STEPS[1] + 1))
    return Problem(start, gamma.tolist(), settings, norm_setting(rng), adamw_steps)


def norm_setting(rng: np.random.Generator) -> tuple[list[float], float, int]:
    """A vector θ0 of 2 to 4 nonzero tenths, with α and a step count whose result stays visible."""
    while True:
        size = int(rng.integers(2, 5))
        start = rng.integers(5, 31, size=size) / 10 * rng.choice((-1, 1), size=size)
        rate, steps = float(rng.integers(5, 36) / 100), int(rng.integers(5, 26))
        if np.abs(start).min() * abs(1 - 2 * rate) ** steps >= SMALLEST_NORM_RESULT:
            return [float(value) for value in start], rate, steps
