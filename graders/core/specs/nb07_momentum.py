"""Notebook 07: the heavy ball by hand in PyTorch's form, dampening, steps to a tolerance, Nesterov."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE

# The paths are 200 float32 steps of arithmetic that torch.optim.SGD does in the same order: float64 or
# the classical form v ← μv − αg (the same iterates for a constant α) stay far inside CLOSE, while an
# averaging buffer, a damped first step or a missing zero_() leave it from the first steps on.
# Step counts are integers: CLOSE (rtol 1e-4) asks for the exact count, ±1 only above 10 000 steps, where
# float32 rounding may move the crossing of the tolerance by one step.
SPECS = {
    "heavy_ball_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "does the buffer add each new gradient to μ times itself (a sum, not an average), does x step "
        "against the buffer, downhill, and is the gradient cleared between steps so it does not pile up?",
    ),
    "dampened_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "which step puts the undamped gradient into the buffer, and is the factor (1 − τ) applied to the new "
        "gradient only, not to the whole buffer?",
    ),
    "gd_steps": Spec(
        kinds.array,
        1,
        CLOSE,
        "is each count the number of steps taken when ‖x‖ first reaches the tolerance, checked after every "
        "step with the first step counted as 1, for plain gradient descent at learning rate 1/κ?",
    ),
    "heavy_ball_steps": Spec(
        kinds.array,
        2,
        CLOSE,
        "is the heavy ball's momentum Polyak's ratio squared, is the buffer updated before x, and is the "
        "first step counted as 1?",
    ),
    "nesterov_steps": Spec(
        kinds.array,
        1,
        CLOSE,
        "was nesterov=True passed to torch.optim.SGD, and is Nesterov's momentum the ratio (√κ − 1)/(√κ + 1) "
        "itself, not its square?",
    ),
}
