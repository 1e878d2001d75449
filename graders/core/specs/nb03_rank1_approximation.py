"""Notebook 03: rank-1 approximation with Adam, a non-convex problem with a known optimum."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, NEAR_ZERO

# X1 and X2 are not graded: (c·X1, X2/c) is an equally good answer for any c ≠ 0. Their product
# converges to the unique best rank-1 approximation (float32 and float64 runs agree to 1e-7), so CLOSE fits.
SPECS = {
    "initial_objective": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "is it the task's squared Frobenius distance: every entry of the residual squared and summed, with "
        "no root taken and no average, and the product in mat's orientation?",
    ),
    "rank1_losses": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "does entry k hold the objective before update k, for the task's optimiser, learning rate and "
        "number of steps, started from copies of X1_init and X2_init?",
    ),
    "rank1_product": Spec(
        kinds.array,
        2,
        CLOSE,
        "is it the outer product X1 X2ᵀ in mat's shape, taken after all of the task's Adam steps? Fewer "
        "stop short of the optimum",
    ),
    "optimality_gap": Spec(
        kinds.near_zero,
        2,
        NEAR_ZERO,
        "which singular value, and which power of it, gives the best objective a rank-1 matrix can reach? "
        "And is the objective taken at your trained X1, X2?",
        # A gap near zero is the answer on every instance: it counts once the product it measures is right.
        rests_on=("rank1_product",),
    ),
}
