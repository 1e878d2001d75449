"""Notebook 08: the Adam step by hand, the first steps without bias correction, and what ε does."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE

# Float64 throughout: the hand-written steps follow torch.optim.Adam to about 1e-15, and float32 ones
# (recomputed in the tests) stay within CLOSE over the 100 steps. A missing bias correction, swapped
# betas or a missing square root leave it at step 0; ε inside the square root only shows in eps_steps,
# where the gradients are as small as ε.
SPECS = {
    "adam_path": Spec(
        kinds.trajectory,
        3,
        CLOSE,
        "Does β₁ average the gradient and β₂ its square, are m and s divided by 1 − β₁^k and 1 − β₂^k with "
        "k = 1 at the first step, and is the step divided by the square root of ŝ, with ε added outside it?",
    ),
    "uncorrected_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "Are these the same moments used without dividing by 1 − β^k, recorded for 20 steps?",
    ),
    "first_step_ratio": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Which first step is the longer one, and are both lengths measured from START?",
    ),
    "eps_steps": Spec(
        kinds.array,
        2,
        CLOSE,
        "Is each row how far x moved (x_before − x_after, not the new x) after one step from 0 with "
        "α = 1, and is ε added outside the square root?",
    ),
}
# The first uncorrected step is (1 − β₁)/√(1 − β₂) times the corrected one from every start.
INSTANCE_FREE = frozenset({"first_step_ratio"})
