"""Notebook 11: nn.Linear on the regression of notebook 04; a small network, AdamW and weight decay."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, LOOSE

# 200 full-batch SGD steps at lr 0.1 contract the error by 0.83 per step at worst (curvatures 1.7 to
# 2.4): they end within 1e-15 of least squares, so CLOSE compares with any converged fit. The network
# starts from seeded weights in float64; AdamW's steps then amplify rounding, so its losses are compared
# within LOOSE, which the typical mistakes (validation on the training split, Adam's coupled decay, a
# loss recorded after the step) miss by far more.
SPECS = {
    "linear_weights": Spec(
        kinds.array,
        2,
        CLOSE,
        "model.weight (3 numbers) then model.bias after 200 SGD steps from zero, the MSE of model(inputs) "
        "against targets[:, None] (shape (200, 1), not (200,))",
    ),
    "parameter_shapes": Spec(
        kinds.equal,
        1,
        CLOSE,
        "[list(parameter.shape) for parameter in model.parameters()]: the weight first, then the bias",
    ),
    "train_losses_no_decay": Spec(
        kinds.trajectory,
        1,
        LOOSE,
        "fit(0.0): AdamW(network.parameters(), lr=0.01, weight_decay=0.0), each step's loss recorded "
        "before optimizer.step()",
    ),
    "val_losses_by_decay": Spec(
        kinds.array,
        2,
        LOOSE,
        "the MSE of the trained network on val_x, val_y (not the training split), with AdamW, not Adam, "
        "for weight decays 0, 0.1, 1",
    ),
}
