"""Notebook 12: the Hessian of a least-squares loss, the optimal fixed step and rate, feature scaling."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE

# Everything is float64 linear algebra on seeded data: eigvalsh, the closed forms and the step counts
# agree to rounding however they are written, so CLOSE (an exact count, for integers) fits, while a
# missing factor 2, A Aᵀ, the rate of 1/λmax or an uncentred scaling change them by far more.
SPECS = {
    "hessian_eigenvalues": Spec(
        kinds.array,
        1,
        CLOSE,
        "torch.linalg.eigvalsh(2 * A.T @ A / n), ascending: the factor 2 of the squared loss, and AᵀA (4×4)",
    ),
    "optimal_step": Spec(kinds.scalar, 1, CLOSE, "2 / (λmax + λmin) of the Hessian 2AᵀA/n"),
    "optimal_rate": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "(λmax − λmin) / (λmax + λmin) = (κ − 1)/(κ + 1): the rate of the optimal step, not of 1/λmax",
    ),
    "gd_steps_raw_scaled": Spec(
        kinds.array,
        2,
        CLOSE,
        "steps until ‖θ − θ*‖ ≤ 1e-6‖θ*‖, counted from 1 after the first step; the standardised design "
        "is centred (minus the mean) and divided by the standard deviation, with its own optimal step",
    ),
    "scaled_condition_number": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "λmax/λmin of 2BᵀB/n for B = design((features − mean) / std): centring matters as much as scaling",
    ),
}
