"""Notebook 04: a linear mapping trained by SGD for 5 steps, then linear regression by mini-batch SGD."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, SGD_EXCESS_LOSS, SGD_WEIGHTS

# The 5 steps of part 1 are deterministic float64 arithmetic: float32 agrees to 1e-7, so CLOSE fits.
# Mini-batch SGD depends on the shuffle, so its weights and loss are judged by how close to the
# least-squares optimum they end, not bit for bit.
SPECS = {
    "linear_mapping_losses": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "5 SGD steps, lr=0.0005, from W = 0: zero_grad first, record loss.item() before optimizer.step()",
    ),
    "linear_mapping_W": Spec(
        kinds.array,
        2,
        CLOSE,
        "W (16×4) after exactly 5 steps with lr=0.0005, MSELoss and zero_grad() at the start of each step",
    ),
    "lstsq_weights": Spec(
        kinds.array,
        2,
        CLOSE,
        "lstsq of [inputs, ones] against targets: the three weights first, then the bias",
    ),
    "sgd_weights": Spec(
        kinds.array,
        2,
        SGD_WEIGHTS,
        "20 epochs of batches of 20 with lr=0.05 from w = 0, b = 0; store the three weights, then the bias",
    ),
    "sgd_excess_loss": Spec(
        kinds.small_positive,
        1,
        SGD_EXCESS_LOSS,
        "SGD's final whole-training-set MSE divided by lstsq_loss, minus 1, after all 20 epochs",
    ),
}
