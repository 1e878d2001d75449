"""Notebook 13: Adagrad and RMSProp by hand in PyTorch's form, per-coordinate scaling, RMSProp as Adam."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import CLOSE, EXACT

# Float64 throughout: the hand-written steps follow torch.optim to about 1e-15, and float32 runs stay
# within CLOSE over the 100 steps. A forgotten sum, a decay counted from t, swapped α or a bias correction
# leave the path from the first steps on. Every key depends on the start, κ or α of the instance.
SPECS = {
    "adagrad_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "does the accumulator add every squared gradient so far, and is the step divided by its square root "
        "with ε added outside it?",
    ),
    "adagrad_decay_path": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "which learning rate does the first step use: does the decay count the steps taken before this one?",
    ),
    "rmsprop_path": Spec(
        kinds.trajectory,
        2,
        CLOSE,
        "which weight does the moving average give the old value and which the new squared gradient, and "
        "does RMSProp divide its average by a bias correction?",
    ),
    "adagrad_rates": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is each row the learning rate divided by the square root of the accumulator plus ε, read after the "
        "step that added that step's gradient, flat axis first?",
    ),
    "rmsprop_rates": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is each row the learning rate divided by the square root of the moving average plus ε, read after "
        "the step that updated it, with this notebook's α?",
    ),
    "steps_to_tolerance": Spec(
        kinds.array,
        1,
        EXACT,
        "is each count the index of the first recorded loss below TOLERANCE (the number of steps taken), in "
        "the order gradient descent, Adagrad, RMSProp, with gradient descent at 2/(1 + κ)?",
    ),
    "adam_beta1_zero_path": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "is β₁ the one set to 0 and β₂ the smoothing constant α itself, with RMSProp's learning rate?",
    ),
    "rmsprop_as_adam_path": Spec(
        kinds.trajectory,
        1,
        CLOSE,
        "at the first step, which power of α does Adam's correction 1 − α^t use, and are both lr and ε "
        "multiplied by its square root?",
    ),
    "first_step_ratio": Spec(
        kinds.scalar,
        1,
        CLOSE,
        "which first step is the longer one, and are both lengths measured from START?",
    ),
}
