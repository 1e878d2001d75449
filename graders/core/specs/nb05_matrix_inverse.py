"""Notebook 05: matrix inverse and linear solve by gradient descent; conditioning and convergence speed."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT, ROUNDING_RESIDUAL

# ‖A X_learned − I‖_F ends at rounding level on every instance, so its point does not depend on the instance.
INSTANCE_FREE = frozenset({"inverse_residual"})

SPECS = {
    "inverse_grad": Spec(
        kinds.array,
        1,
        CLOSE,
        "what factor does the square in ‖AX − B‖²_F bring down, and which matrix, A or its transpose, "
        "carries the residual back to X's side?",
    ),
    "X_learned": Spec(
        kinds.array,
        2,
        CLOSE,
        "does every step go against the gradient, from X = 0, with the learning rate and number of steps "
        "the task gives, and is the result X itself rather than its transpose?",
    ),
    "inverse_residual": Spec(
        kinds.rounding_residual,
        1,
        ROUNDING_RESIDUAL,
        "is it the Frobenius norm of A·X_learned − I, not its square, taken after all 200 steps?",
    ),
    "x_solved": Spec(
        kinds.array,
        2,
        CLOSE,
        "are the gradients cleared before every backward(), so that each step uses only the current "
        "gradient, and did all the steps run with the given learning rate?",
    ),
    "loss_history_ill": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "is each loss of A_ill recorded before its step, with the learning rate and number of steps the task "
        "gives?",
    ),
    "steps_to_tolerance": Spec(
        kinds.array,
        1,
        EXACT,
        "is each count the index of the first loss below TOLERANCE in its own history (the number of steps "
        "taken), A_well's first, from runs with the given learning rate?",
    ),
}
