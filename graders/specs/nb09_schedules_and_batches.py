"""Notebook 09: learning-rate schedules against the noise floor; batch size, noise ball and cost."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import CLOSE, EXACT

# Every run is float64 with the loaders' shuffles seeded by the notebook: a correct loop reproduces the
# reference to rounding (another form of the MSE or of the scheduler moves it by about 1e-13 relative),
# so CLOSE holds, while a scheduler stepped per batch or never, or another learning rate, moves the
# excess by a factor. Gradient evaluations are whole epochs times 200: EXACT.
SPECS = {
    "constant_excess": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "train(20, 0.05): 30 epochs from w = 0, b = 0, relative_excess(w, b) appended after each epoch",
    ),
    "schedule_final_excess": Spec(
        kinds.array,
        2,
        CLOSE,
        "scheduler.step() once per epoch, after the epoch's batches (not after every batch); "
        "the order is step decay, cosine, 1/t",
    ),
    "noise_ball_fixed_lr": Spec(
        kinds.array,
        1,
        CLOSE,
        "the mean of the last 10 epochs' excess of train(B, 0.05), for B = 5, 20, 100",
    ),
    "noise_ball_scaled_lr": Spec(
        kinds.array,
        1,
        CLOSE,
        "the mean of the last 10 epochs' excess of train(B, 0.05 * B / 20): the rate grows with B",
    ),
    "gradient_evaluations": Spec(
        kinds.array,
        1,
        EXACT,
        "epochs until the excess is first below 1e-2, times 200 examples per epoch (not steps); "
        "the fixed-step row first",
    ),
}
