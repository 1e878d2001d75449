"""Notebook 05: matrix inverse and linear solve by gradient descent; conditioning and convergence speed."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, EXACT, ROUNDING_RESIDUAL

SPECS = {
    "inverse_grad": Spec(
        kinds.array,
        1,
        CLOSE,
        "the gradient of ‖AX − B‖²_F is 2·Aᵀ(AX − B): check the factor 2 and Aᵀ (not A)",
    ),
    "X_learned": Spec(
        kinds.array,
        2,
        CLOSE,
        "X should match torch.linalg.inv(A): step against the gradient (X − lr·∇f), lr = 0.5 for 200 steps "
        "from X = 0, and do not transpose the result",
    ),
    "inverse_residual": Spec(
        kinds.rounding_residual,
        1,
        ROUNDING_RESIDUAL,
        "‖A @ X_learned − I‖_F (Frobenius norm, not squared) after all 200 steps",
    ),
    "x_solved": Spec(
        kinds.array,
        2,
        CLOSE,
        "x should match torch.linalg.solve(A, b): SGD with lr = 0.5 for 200 steps from x = 0, "
        "calling optimizer.zero_grad() before every backward()",
    ),
    "loss_history_ill": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "for A_ill, record ‖AX − I‖²_F before each of 1500 steps (not after), with lr = 0.5 from X = 0",
    ),
    "steps_to_tolerance": Spec(
        kinds.array,
        1,
        EXACT,
        "[k_well, k_ill] in that order: in each lr = 0.5 history, the index of the first loss below 1e-3",
    ),
}
