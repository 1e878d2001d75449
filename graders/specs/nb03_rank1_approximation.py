"""Notebook 03: rank-1 approximation with Adam, a non-convex problem with a known optimum."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, NEAR_ZERO

# X1 and X2 are not graded: (c·X1, X2/c) is an equally good answer for any c ≠ 0. Their product
# converges to the unique best rank-1 approximation (float32 and float64 runs agree to 1e-7), so CLOSE fits.
SPECS = {
    "initial_objective": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "sum the squared entries of mat − torch.outer(X1, X2): no square root, no mean",
    ),
    "rank1_losses": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "400 Adam steps with lr=0.1 from X1_init, X2_init, recording loss.item() before optimizer.step()",
    ),
    "rank1_product": Spec(
        kinds.array,
        2,
        CLOSE,
        "store torch.outer(X1, X2) after all 400 Adam steps with lr=0.1: fewer stop short of the optimum",
    ),
    "optimality_gap": Spec(
        kinds.near_zero,
        2,
        NEAR_ZERO,
        "subtract σ₂² (the square of svdvals(mat)[1]) from the objective at the trained X1, X2",
    ),
}
