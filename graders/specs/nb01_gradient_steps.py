"""Notebook 01: gradient steps by hand."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE

# Every answer comes from at most 500 float32 steps of plain gradient descent on a quadratic: CLOSE holds
# float64 recomputations, while a wrong sign, learning rate, missing zeroing or a shift by a step do not.
SPECS = {
    "parabola_first_steps": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "X.data -= 0.001 * X.grad, then X.grad.zero_(): moving away from the origin means a missing minus "
        "sign, a second step longer than the first means X.grad was not zeroed",
    ),
    "var_history_2": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "append x.data.clone() BEFORE make_gradient_step (α = 0.001): identical entries mean the copy is "
        "missing, growing values a wrong sign, a drift from step 2 on an X.grad that was not zeroed",
    ),
    "fn_history_2": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "append function_skewed(x).item() BEFORE make_gradient_step (α = 0.001): growing values mean a "
        "wrong sign, a drift from step 2 on an X.grad that was not zeroed",
    ),
    "theta_autograd": Spec(
        kinds.array,
        1,
        CLOSE,
        "θ ← θ − α·2θ with α and the number of steps taken from the arguments, and theta.grad zeroed "
        "after every step",
    ),
    "max_stable_lr": Spec(
        kinds.scalar, 1, CLOSE, "2/λ_max with λ_max the largest eigenvalue of the Hessian (20·I here)"
    ),
    "max_stable_lr_skewed": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "2/λ_max of the Hessian 10·(Γ + Γᵀ), not of Γ itself: torch.autograd.functional.hessian computes it",
    ),
}
