"""The recommended order through the notebooks, with what each needs first (README and the site's index).

File numbers stay as they are (answer files depend on them), so the path is an order of its own.
"""

from typing import NamedTuple


class Step(NamedTuple):
    """One notebook on the path: the notebooks to have done before it, and why it sits where it does."""

    name: str
    needs: tuple[str, ...]
    note: str = ""


PATH = (
    Step("00_autograd", ()),
    Step("01_gradient_steps", ("00_autograd",), "conditioning's thread starts: the stable step and λmax"),
    Step(
        "02_torch_optim",
        ("01_gradient_steps",),
        "uses Adam(W) as a black box; 13 and 08 open it",
    ),
    Step("04_linear_mapping", ("02_torch_optim",)),
    Step("05_matrix_inverse", ("01_gradient_steps", "02_torch_optim"), "conditioning: κ(A) of a matrix"),
    Step("07_momentum", ("05_matrix_inverse",), "conditioning: κ of the Hessian sets the rates"),
    Step(
        "12_conditioning",
        ("04_linear_mapping", "07_momentum"),
        "conditioning: κ(H) = κ(A)², feature scaling as preconditioning",
    ),
    Step("09_schedules_and_batches", ("04_linear_mapping",)),
    Step("13_adagrad_rmsprop", ("02_torch_optim", "12_conditioning"), "the bridge to Adam"),
    Step("08_adam_by_hand", ("13_adagrad_rmsprop",)),
    Step("03_rank1_approximation", ("02_torch_optim",), "a non-convex objective, trained with Adam"),
    Step("06_svd", ("03_rank1_approximation",)),
    Step("10_gradient_checking", ("00_autograd",)),
    Step("11_real_models", ("04_linear_mapping", "08_adam_by_hand")),
    Step("14_non_quadratic", ("12_conditioning",)),
    Step("15_learning_rates_in_practice", ("09_schedules_and_batches", "11_real_models")),
    Step("16_newton_and_saddles", ("05_matrix_inverse", "12_conditioning", "08_adam_by_hand")),
)
# The notebooks that carry conditioning from the first step to preconditioning, in the path's order.
CONDITIONING_THREAD = ("01_gradient_steps", "05_matrix_inverse", "07_momentum", "12_conditioning")


def path_of(names: list[str]) -> list[Step]:
    """The path's steps for the notebooks in `names` (those the course has now), in the path's order."""
    present = set(names)
    return [step for step in PATH if step.name in present]
