"""Notebook 14: logistic regression's cross-entropy, curvature changing along the path, a line search."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# Float64 throughout; every answer depends on the instance's data, start and fixed step. The fixed run's
# two-cycle is graded, not its path: the cycle starts when rounding error along the top eigenvector has
# grown enough, a step that depends on the order of the sums, while the cycle it settles in does not.
# The accepted steps are powers of two: a different search lands a factor of two or more away.
SPECS = {
    "grad_start": Spec(
        kinds.array,
        1,
        CLOSE,
        "What is the derivative of one cross-entropy term with respect to its logit, which matrix carries it "
        "back to the weights, and does the gradient average over the points as the loss does?",
    ),
    "lambda_max_start": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the Hessian of the mean loss (cross_entropy itself) at START, and which end of eigvalsh's "
        "ascending list holds the largest eigenvalue?",
    ),
    "fixed_cycle": Spec(
        kinds.array,
        2,
        CLOSE,
        "Does every step go against the gradient with LR_FIXED for all 400 steps, and are the last two "
        "losses sorted, the smaller first?",
    ),
    "armijo_steps": Spec(
        kinds.trajectory,
        2,
        EXACT,
        "Does every search restart at T_INITIAL, halve t until the loss falls by at least ARMIJO_C · t times "
        "the squared gradient norm, and record the t it accepts?",
    ),
    "armijo_final_loss": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the loss at the point reached after all ARMIJO_STEPS steps, each of the length the search "
        "accepted?",
    ),
    "lambda_max_end": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is the Hessian taken at the line search's last point, w_armijo, rather than at START or the fixed "
        "run's end?",
    ),
    "stable_steps": Spec(
        kinds.array,
        1,
        CLOSE,
        "Which step makes the factor 1 − ηλ of a quadratic reach −1, and is the start's value first?",
    ),
}
