"""Notebook 10: central differences against autograd, and the step size in float64 and float32."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, EXACT

# At h = 1e-6 in float64 the central difference agrees with autograd to about 1e-11 relative, far inside
# EXACT, while a forward difference is off by about 1e-6 relative and float32 by 1e-1: EXACT tells them
# apart. The best steps are powers of ten from a list, and the float32 error at the best step is the
# same for every way of writing the difference (1.1e-5); CLOSE (atol 1e-6) keeps it within 10 %.
SPECS = {
    "autograd_gradient": Spec(
        kinds.array,
        1,
        EXACT,
        "x = torch.tensor(X0, dtype=torch.float64, requires_grad=True), f(x).backward(), then x.grad",
    ),
    "fd_gradient": Spec(
        kinds.array,
        2,
        EXACT,
        "(f(x + h·eᵢ) − f(x − h·eᵢ)) / (2h) for each i, with h = 1e-6 in float64: central, not forward, "
        "and divided by 2h",
    ),
    "best_step_float64": Spec(
        kinds.scalar,
        1,
        EXACT,
        "the h of STEP_SIZES whose float64 central difference has the smallest relative error",
    ),
    "best_step_float32": Spec(
        kinds.scalar,
        1,
        EXACT,
        "the h whose float32 central difference (x in float32) has the smallest relative error: "
        "rounding pushes it far above float64's",
    ),
    "best_error_float32": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "the smallest float32 error: max |difference| divided by the largest |component| of "
        "autograd_gradient",
    ),
}
