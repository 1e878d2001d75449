"""Notebook 12: the Hessian of a least-squares loss, the optimal fixed step and rate, feature scaling."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE

# Everything is float64 linear algebra on each instance's seeded data: eigvalsh, the closed forms and the
# step counts agree to rounding however they are written, so CLOSE (an exact count, for integers) fits,
# while a missing factor 2, A Aᵀ, the rate of 1/λmax or an uncentred scaling change them by far more.
SPECS = {
    "hessian_eigenvalues": Spec(
        kinds.array,
        1,
        CLOSE,
        "Does the Hessian of the mean squared loss keep the factor 2, is it AᵀA (4×4) rather than AAᵀ, and "
        "are the eigenvalues in ascending order?",
    ),
    "optimal_step": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Does the step make |1 − αλ| the same at λmin and at λmax, rather than being 1/λmax?",
    ),
    "optimal_rate": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the rate of the optimal step, the worst |1 − αλ| there, not that of the step 1/λmax?",
    ),
    "gd_steps_raw_scaled": Spec(
        kinds.array,
        2,
        CLOSE,
        "Is the first step counted as 1? Is the standardised design centred as well as scaled, and does "
        "each design run with its own optimal step?",
    ),
    "scaled_condition_number": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it λmax/λmin of the standardised design's Hessian, its features centred as well as scaled and "
        "its bias column kept, rather than of A's?",
    ),
}
