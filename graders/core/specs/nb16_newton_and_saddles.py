"""Notebook 16: Newton's step on a quadratic against gradient descent, diagonal scaling, saddle points."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# Float64 throughout. Every key depends on the instance: the quadratic's H, b and start, its κ, and the
# saddle function's a, μ, start and kick. The paths stop before they come within CLOSE's atol of a point
# that every instance shares (the saddle, x = 0), so a copy of another instance's answers earns nothing.
SPECS = {
    "newton_point": Spec(
        kinds.array,
        2,
        CLOSE,
        "does the step go against the gradient, and is the gradient multiplied by the inverse of the Hessian "
        "(a solve with H), not by H itself?",
    ),
    "gd_errors": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "is each error the distance to the minimum after its step, with the learning rate 2/(1 + κ)?",
    ),
    "jacobi_kappa": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "is it the condition number of the rescaled Hessian D^(−1/2) H D^(−1/2), largest eigenvalue over "
        "smallest, rather than that of H?",
    ),
    "stuck_path": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "does each step go against the gradient with the learning rate 0.1, from a start with y exactly 0?",
    ),
    "escape_step": Spec(
        kinds.array,
        1,
        EXACT,
        "is it the number of steps taken when |y| first exceeds √μ/2, counting the first step as 1, in the "
        "run that starts with the kick?",
    ),
    "escaped_point": Spec(
        kinds.array,
        1,
        CLOSE,
        "is it the point after all 300 steps of the kicked run, and does the kick keep its sign?",
    ),
    "newton_saddle_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "is the step the Hessian of the saddle function, with its negative curvature, solved against the "
        "gradient, recorded after each step?",
    ),
}
