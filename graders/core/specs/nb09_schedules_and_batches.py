"""Notebook 09: learning-rate schedules against the noise floor; batch size, noise ball and cost."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# Every run is float64 with the loaders' shuffles seeded by the notebook: a correct loop reproduces the
# reference to rounding (another form of the MSE or of the scheduler moves it by about 1e-13 relative),
# so CLOSE holds, while a scheduler stepped per batch or never, or another learning rate, moves the
# excess by a factor. Gradient evaluations are whole epochs times 200: EXACT.
SPECS = {
    "constant_excess": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "Does each run start from w = 0 and b = 0, and is relative_excess(w, b) of all the data appended "
        "once after each epoch, not after each batch?",
    ),
    "schedule_final_excess": Spec(
        kinds.array,
        2,
        CLOSE,
        "Is the scheduler stepped once per epoch, after the epoch's batches, rather than after every "
        "batch or never? Are the finals in the table's order?",
    ),
    "noise_ball_fixed_lr": Spec(
        kinds.array,
        1,
        CLOSE,
        "Is each ball the mean over the last 10 epochs only, at the same α for every B in BATCH_SIZES?",
    ),
    "noise_ball_scaled_lr": Spec(
        kinds.array,
        1,
        CLOSE,
        "Does the learning rate grow with B, in proportion to it, so that a larger batch takes larger steps?",
    ),
    "gradient_evaluations": Spec(
        kinds.array,
        1,
        EXACT,
        "Does each count the examples whose gradients were computed, not the steps taken, up to the "
        "first epoch below the level? Is the fixed-step row first?",
    ),
}
