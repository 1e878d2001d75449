"""Notebook 10: central differences against autograd, and the step size in float64 and float32."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# At h = 1e-6 in float64 the central difference agrees with autograd to about 1e-11 relative, far inside
# EXACT, while a forward difference is off by about 1e-6 relative (every instance's x0 is chosen so that
# it misses EXACT, graders.core.problems.nb10_gradient_checking) and float32 by 1e-1: EXACT tells them apart.
# The best steps come from the instance's list, and the float32 error at the best step is the same for
# every way of writing the difference (1.1e-5 on the public instance); CLOSE (atol 1e-6) keeps it within
# 10 %.
SPECS = {
    "autograd_gradient": Spec(
        kinds.array,
        1,
        EXACT,
        "Is the gradient taken at X0 in float64, from a single backward() (a second one adds to .grad)?",
    ),
    "fd_gradient": Spec(
        kinds.array,
        2,
        EXACT,
        "Is it the central difference, not the forward one, divided by 2h, computed in float64 with the "
        "task's h?",
    ),
    "best_step_float64": Spec(
        kinds.scalar,
        1,
        EXACT,
        "Is it the h itself from STEP_SIZES (not its error or index) where the float64 central difference "
        "has the smallest relative error?",
    ),
    "best_step_float32": Spec(
        kinds.scalar,
        1,
        EXACT,
        "Were the float32 differences computed from x in float32? Where does rounding push the best h "
        "there, compared with float64's?",
    ),
    "best_error_float32": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the smallest of the float32 errors, each relative: the largest |difference| divided by "
        "the largest |component| of autograd_gradient?",
    ),
}
