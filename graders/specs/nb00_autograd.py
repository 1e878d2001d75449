"""Notebook 00: autograd basics."""

from graders import kinds
from graders.grading import Spec
from graders.tolerances import EXACT

SPECS = {
    "sum_grads": Spec(
        kinds.array, 1, EXACT, "for L = x + y each input's gradient is 1: did you call L.backward()?"
    ),
    "X_grad": Spec(
        kinds.array, 2, EXACT, "the gradient of 10·Σ x² is 20·X: check the factor and the exponent"
    ),
    "graph_path": Spec(
        kinds.equal, 1, EXACT, "from the given g.grad_fn, follow next_functions[0][0] until AccumulateGrad"
    ),
    "accumulated_grad": Spec(kinds.array, 1, EXACT, "call backward() twice without zeroing in between"),
    "grad_after_zeroing": Spec(
        kinds.array, 1, EXACT, "zero w.grad (w.grad.zero_()) before the third backward()"
    ),
    "requires_grad_flags": Spec(
        kinds.equal, 1, EXACT, "results computed under torch.no_grad() or after .detach() do not require grad"
    ),
}

# Every cell of this notebook runs in milliseconds after the torch import.
CELL_TIMEOUT_SECONDS = 30
