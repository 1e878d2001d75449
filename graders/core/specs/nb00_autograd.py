"""Notebook 00: autograd basics."""

from graders.core import kinds
from graders.core.grading import Spec
from graders.core.tolerances import EXACT

SPECS = {
    "sum_grads": Spec(
        kinds.array,
        1,
        EXACT,
        "how fast does L = C_X·x + C_Y·y change as x alone changes (and as y alone does), and did "
        "L.backward() run?",
    ),
    "X_grad": Spec(
        kinds.array,
        2,
        EXACT,
        "what does the power rule give for the derivative of 10·x², and did both the factor and the "
        "square make it into f?",
    ),
    "graph_path": Spec(
        kinds.equal,
        1,
        EXACT,
        "did you start at the given g.grad_fn and follow each node's first input until a node has none?",
    ),
    "accumulated_grad": Spec(
        kinds.array,
        1,
        EXACT,
        "w.grad holds the sum over every backward() since it was last zeroed: how many calls did it see?",
    ),
    "grad_after_zeroing": Spec(
        kinds.array,
        1,
        EXACT,
        "was w.grad zeroed in place before the last backward(), or does it still hold the earlier calls?",
    ),
    "requires_grad_flags": Spec(
        kinds.equal,
        1,
        EXACT,
        "does a result computed under torch.no_grad(), or cut off by .detach(), still require grad, "
        "and do your flags follow the order of WAYS?",
    ),
}

# The names of graph nodes: the same whatever numbers the problem instance draws.
INSTANCE_FREE = frozenset({"graph_path"})

# Every cell of this notebook runs in milliseconds after the torch import.
CELL_TIMEOUT_SECONDS = 30
