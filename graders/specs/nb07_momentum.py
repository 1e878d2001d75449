"""Notebook 07: the heavy ball by hand in PyTorch's form, dampening, steps to a tolerance, Nesterov."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE

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
        "each step: backward(), buffer = 0.9·buffer + x.grad (a sum, not an average), x -= 0.001·buffer, "
        "then x.grad.zero_()",
    ),
    "dampened_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "PyTorch's first step puts the undamped gradient into the buffer; later steps add (1 − 0.5)·x.grad "
        "to 0.9·buffer, the buffer itself is not damped",
    ),
    "gd_steps": Spec(
        kinds.array,
        1,
        CLOSE,
        "learning rate 1/κ, momentum 0, from (1, 1) in float64; count the steps taken when ‖x‖ ≤ 1e-6 "
        "first holds, checked after each step, the first step being step 1",
    ),
    "heavy_ball_steps": Spec(
        kinds.array,
        2,
        CLOSE,
        "learning rate 4/(√κ + 1)² and momentum ((√κ − 1)/(√κ + 1))², squared; the buffer is updated "
        "before x, and the count starts at 1 after the first step",
    ),
    "nesterov_steps": Spec(
        kinds.array,
        1,
        CLOSE,
        "torch.optim.SGD(lr=1/κ, momentum=(√κ − 1)/(√κ + 1), nesterov=True): the momentum not squared, "
        "and nesterov=True set",
    ),
}
