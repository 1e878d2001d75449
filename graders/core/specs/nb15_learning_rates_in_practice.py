"""Notebook 15: an LR range test, linear warmup with LambdaLR and gradient clipping by hand on a tiny MLP."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# Full-batch float64 steps from one seeded initial network: every run is deterministic, and another order
# of the sums moves a loss by about 1e-15 relative, far inside CLOSE, except in the range test's last few
# steps, where the blow-up amplifies it to 1e-6 and beyond: the range test is graded up to its lowest loss.
# warmup_lrs is the same on every instance (LR_PEAK and WARMUP_STEPS are fixed).
INSTANCE_FREE = frozenset({"warmup_lrs"})

SPECS = {
    "range_losses_to_best": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "Is the learning rate of step k set before its loss is computed, is each loss recorded before its "
        "step, and does the run stop at the first loss above 4 times the lowest so far?",
    ),
    "chosen_lr": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the learning rate at the position of the lowest recorded loss (not the last one), divided by "
        "10?",
    ),
    "warmup_lrs": Spec(
        kinds.array,
        1,
        CLOSE,
        "What factor does LambdaLR apply at step 0, and what should it stay at once WARMUP_STEPS steps have "
        "passed?",
    ),
    "diverged_at": Spec(
        kinds.array,
        2,
        EXACT,
        "Is each number the index of the first recorded loss above DIVERGED, the run without warmup first, "
        "both at LR_PEAK?",
    ),
    "first_total_norm": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "Is it the norm of all the gradients taken together as one vector (the square root of the sum of "
        "every squared entry), at the initial weights?",
    ),
    "clipped_first_grads": Spec(
        kinds.array,
        1,
        CLOSE,
        "Is every gradient multiplied by the same factor, max_norm over the total norm plus 1e-6, and only "
        "when that factor is below 1?",
    ),
    "clipped_losses": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "Is every step of the LR_PEAK run clipped to MAX_NORM after backward() and before step(), for all "
        "200 steps?",
    ),
}
