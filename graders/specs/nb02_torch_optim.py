"""Notebook 02: torch.optim, SGD and AdamW."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE

# CLOSE for AdamW too, although LOOSE exists for adaptive optimisers: AdamW(lr=1) on this bowl converges
# rather than amplifying rounding. Recomputed in float64, or with gradients perturbed by 1e-7 relative,
# its 500 steps stay within a quarter of CLOSE, and CLOSE gives a wrong lr or optimiser less partial
# credit than LOOSE would on the late steps, where every converging run is already near zero.
SPECS = {
    "var_history_3": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "torch.optim.SGD([x], lr=0.001), each iteration zero_grad(), function_skewed(x), backward(), step(): "
        "points moving away from the minimum mean a wrong sign, ever longer steps a missing zero_grad()",
    ),
    "fn_history_3": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "record function_result, computed before optimizer.step(), of SGD with lr=0.001 and zero_grad() "
        "in every iteration",
    ),
    "var_history_4": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "torch.optim.AdamW([x], lr=1), not Adam (its first point is (9, 7)), with zero_grad() in every "
        "iteration",
    ),
    "fn_history_4": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "record function_result, computed before optimizer.step(), of AdamW with lr=1 and zero_grad() "
        "in every iteration",
    ),
    "theta_optimiser": Spec(
        kinds.array,
        1,
        CLOSE,
        "torch.optim.SGD([theta], lr=learning_rate), then number_steps times zero_grad, θ², backward, step",
    ),
    "theta_norm_optimiser": Spec(
        kinds.array,
        1,
        CLOSE,
        "loss (theta**2).sum() and SGD at the given learning rate: the result is θ0·(1 − 2·lr)^n",
    ),
}
