"""Notebook 02: torch.optim, SGD and AdamW."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE

# CLOSE for AdamW too, although LOOSE exists for adaptive optimisers: AdamW(lr=1) on this bowl converges
# rather than amplifying rounding. Recomputed in float64, or with gradients perturbed by 1e-7 relative,
# its 500 steps stay within a quarter of CLOSE, and CLOSE gives a wrong lr or optimiser less partial
# credit than LOOSE would on the late steps, where every converging run is already near zero.
SPECS = {
    "var_history_3": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "does every iteration clear the old gradients, evaluate, back-propagate and step, with the task's "
        "optimiser and learning rate? Points moving away from the minimum suggest the sign; ever longer "
        "steps, gradients that were never cleared",
    ),
    "fn_history_3": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is entry k the value computed before step k+1 of the SGD run, and are the gradients cleared in "
        "every iteration?",
    ),
    "var_history_4": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "which optimiser shrinks the parameters before its step (decoupled weight decay), at which learning "
        "rate, and are the gradients cleared in every iteration?",
    ),
    "fn_history_4": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is entry k the value computed before step k+1 of the AdamW run, and are the gradients cleared in "
        "every iteration?",
    ),
    "theta_optimiser": Spec(
        kinds.array,
        1,
        CLOSE,
        "does your function build its optimiser on theta with the learning rate it was given, and clear "
        "the gradients before each of its number_steps steps?",
    ),
    "theta_norm_optimiser": Spec(
        kinds.array,
        1,
        CLOSE,
        "is the loss the squared norm of the whole vector, minimised with the learning rate and number of "
        "steps your function was given? Compare with the closed form printed beside your result",
    ),
}
