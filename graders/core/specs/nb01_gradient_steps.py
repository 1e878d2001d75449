"""Notebook 01: gradient steps by hand."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE

# Every answer comes from at most 500 float32 steps of plain gradient descent on a quadratic: CLOSE holds
# float64 recomputations, while a wrong sign, learning rate, missing zeroing or a shift by a step do not.
SPECS = {
    "parabola_first_steps": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "which way does a gradient step move, by how much, and what is left in X.grad for the next step? "
        "A point moving away from the origin suggests the sign; a second step longer than the first, a "
        "gradient that was not zeroed",
    ),
    "var_history_2": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "is entry k a copy of the point BEFORE step k, taken with make_gradient_step's own learning rate? "
        "Growing values suggest the sign of the step; a drift from step 2 on, a gradient that was not zeroed",
    ),
    "fn_history_2": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is entry k the function value, as a float, at the point BEFORE step k? Growing values suggest the "
        "sign of the step; a drift from step 2 on, a gradient that was not zeroed",
    ),
    "theta_autograd": Spec(
        kinds.array,
        1,
        CLOSE,
        "does every step move θ against its gradient, with the learning rate and the number of steps your "
        "function was given, and is theta.grad empty again before the next backward()?",
    ),
    "max_stable_lr": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "how far may α·λ go before a step overshoots so much that it grows, and is λ the largest "
        "eigenvalue of the Hessian?",
    ),
    "max_stable_lr_skewed": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "whose eigenvalues give the curvature: Γ's, or those of the Hessian of function_skewed, of which "
        "only the symmetric part of Γ counts? And which one limits α: the largest or the smallest?",
    ),
}

# The round bowl is the same on every instance (its limit is derived in the notebook's text).
INSTANCE_FREE = frozenset({"max_stable_lr"})
