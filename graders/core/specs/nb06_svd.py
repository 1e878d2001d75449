"""Notebook 06: the SVD learned with Adam, put in standard form and compared up to sign.

Points follow difficulty: the 3000-step training loop earns 3, sorting into standard form 3.
"""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, DIRECTION, LOOSE, NEAR_ZERO

# A converged run leaves ‖UᵀU − I‖_F + ‖VᵀV − I‖_F near zero on every instance: its point is the same.
INSTANCE_FREE = frozenset({"orthogonality_error"})

SPECS = {
    "initial_loss_terms": Spec(
        kinds.array,
        1,
        CLOSE,
        "are the three terms squared Frobenius norms at the starting point, with UᵀU rather than UUᵀ, "
        "V transposed in the product, and S = softplus(s)?",
    ),
    "M_learned": Spec(
        kinds.array,
        2,
        LOOSE,
        "did every Adam step of the task run on the whole loss, both penalties included, and is the product "
        "U diag(softplus(s)) Vᵀ?",
    ),
    "orthogonality_error": Spec(
        kinds.small_positive,
        1,
        NEAR_ZERO,
        "are both penalties in the loss, did all the steps run, and is it a sum of two norms, not of their "
        "squares?",
    ),
    "singular_values": Spec(
        kinds.array,
        1,
        LOOSE,
        "are the values softplus(s), all positive, sorted so that they decrease?",
    ),
    "U_learned": Spec(
        kinds.sign_invariant_columns,
        1,
        DIRECTION,
        "were U's columns reordered with the same permutation that sorted the singular values?",
    ),
    "V_learned": Spec(
        kinds.sign_invariant_columns,
        1,
        DIRECTION,
        "were V's columns reordered with the same permutation that sorted the singular values?",
    ),
}
