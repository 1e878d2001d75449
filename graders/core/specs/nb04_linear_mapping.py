"""Notebook 04: a linear mapping trained by SGD for 5 steps, then linear regression by mini-batch SGD."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, SGD_EXCESS_LOSS, SGD_WEIGHTS

# The 5 steps of part 1 are deterministic float64 arithmetic: float32 agrees to 1e-7, so CLOSE fits.
# Mini-batch SGD depends on the shuffle, so its weights and loss are judged by how close to the
# least-squares optimum they end, not bit for bit.
# SGD's excess over the least-squares loss is set by the noise and the learning rate, the same on every
# instance: its point does not depend on the instance.
INSTANCE_FREE = frozenset({"sgd_excess_loss"})

SPECS = {
    "linear_mapping_losses": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is each loss recorded before its update, with the gradients zeroed at the start of every step and "
        "the learning rate the task gives?",
    ),
    "linear_mapping_W": Spec(
        kinds.array,
        2,
        CLOSE,
        "is W the 16×4 matrix after exactly the task's number of steps, at its learning rate, with the "
        "gradients zeroed in every step so that they do not pile up?",
    ),
    "lstsq_weights": Spec(
        kinds.array,
        2,
        CLOSE,
        "did the column of ones go after the inputs, so that the three weights come first and the bias last?",
    ),
    "sgd_weights": Spec(
        kinds.array,
        2,
        SGD_WEIGHTS,
        "did every epoch run over the shuffled mini-batches at the given learning rate, starting from zero, "
        "and are the three weights stored first, the bias last?",
    ),
    "sgd_excess_loss": Spec(
        kinds.small_positive,
        1,
        SGD_EXCESS_LOSS,
        "is it SGD's final whole-training-set loss divided by lstsq_loss, minus 1 (a ratio, not a "
        "difference), after all the epochs?",
    ),
}
