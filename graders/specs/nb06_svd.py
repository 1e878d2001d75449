"""Notebook 06: the SVD learned with Adam, put in standard form and compared up to sign.

Points follow difficulty: the 3000-step training loop earns 3, sorting into standard form 3.
"""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, DIRECTION, LOOSE, NEAR_ZERO

SPECS = {
    "initial_loss_terms": Spec(
        kinds.array,
        1,
        CLOSE,
        "[‖M − U diag(softplus(s)) Vᵀ‖², ‖UᵀU − I‖², ‖VᵀV − I‖²] at the start: "
        "UᵀU (not UUᵀ), softplus(s), squared norms",
    ),
    "M_learned": Spec(
        kinds.array,
        2,
        LOOSE,
        "U diag(softplus(s)) Vᵀ after 3000 Adam steps (lr = 0.01) should reproduce M",
    ),
    "orthogonality_error": Spec(
        kinds.small_positive,
        1,
        NEAR_ZERO,
        "‖UᵀU − I‖_F + ‖VᵀV − I‖_F: are both penalties in the loss, and did all 3000 steps run?",
    ),
    "singular_values": Spec(
        kinds.array,
        1,
        LOOSE,
        "singular values are softplus(s), all positive, in decreasing order: torch.sort(S, descending=True)",
    ),
    "U_learned": Spec(
        kinds.sign_invariant_columns, 1, DIRECTION, "permute the columns of U with the order that sorts S"
    ),
    "V_learned": Spec(
        kinds.sign_invariant_columns, 1, DIRECTION, "permute the columns of V with the order that sorts S"
    ),
}
