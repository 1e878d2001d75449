"""Notebook 08: the Adam step by hand, the first steps without bias correction, and what ε does."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE

# Float64 throughout: the hand-written steps follow torch.optim.Adam to about 1e-15, and float32 ones
# (recomputed in the tests) stay within CLOSE over the 100 steps. A missing bias correction, swapped
# betas or a missing square root leave it at step 0; ε inside the square root only shows in eps_steps,
# where the gradients are as small as ε.
SPECS = {
    "adam_path": Spec(
        kinds.trajectory,
        3,
        CLOSE,
        "m = β₁m + (1 − β₁)g, s = β₂s + (1 − β₂)g², divided by 1 − β₁^k and 1 − β₂^k with k counted from 1, "
        "then x -= lr·m̂/(√ŝ + ε): ε outside the square root",
    ),
    "uncorrected_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "run_adam(20, bias_correction=False): the same moments, used without dividing by 1 − β^k",
    ),
    "first_step_ratio": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "‖uncorrected_path[0] − START‖ / ‖adam_path[0] − START‖: the uncorrected step is the longer one, "
        "about (1 − β₁)/√(1 − β₂)",
    ),
    "eps_steps": Spec(
        kinds.array,
        2,
        CLOSE,
        "one row per ε, x_before − x_after after one adam_step from 0 with lr=1: it is g/(|g| + ε), "
        "with ε added outside the square root",
    ),
}
