"""Notebook 11: nn.Linear on the regression of notebook 04; a small network, AdamW and weight decay."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, LOOSE

# 200 full-batch SGD steps at lr 0.1 contract the error by 0.83 per step at worst on the public data
# (curvatures 1.7 to 2.4; instances' smallest curvatures seen down to 1.55, 0.85 per step): they end
# within 1e-12 of least squares, so CLOSE compares with any converged fit. The network
# starts from seeded weights in float64; AdamW's steps then amplify rounding, so its losses are compared
# within LOOSE, which the typical mistakes (validation on the training split, Adam's coupled decay, a
# loss recorded after the step) miss by far more.
SPECS = {
    "linear_weights": Spec(
        kinds.array,
        2,
        CLOSE,
        "Is it the weight's 3 numbers followed by the bias, after the SGD steps from zero? Does the loss "
        "compare the output of shape (200, 1) with targets of that same shape, not (200,)?",
    ),
    "parameter_shapes": Spec(
        kinds.equal,
        1,
        CLOSE,
        "Is it one list of sizes per parameter, in the order model.parameters() yields them?",
    ),
    "train_losses_no_decay": Spec(
        kinds.trajectory,
        1,
        LOOSE,
        "Is each of the FIT_STEPS steps' training loss recorded before optimizer.step() changes the "
        "weights, with AdamW and no weight decay?",
    ),
    "val_losses_by_decay": Spec(
        kinds.array,
        2,
        LOOSE,
        "Is it the MSE on the validation split, not the training split, after training with AdamW (whose "
        "decay is not Adam's), one per weight decay in WEIGHT_DECAYS?",
    ),
}
# A model's parameter shapes do not depend on the data.
INSTANCE_FREE = frozenset({"parameter_shapes"})
