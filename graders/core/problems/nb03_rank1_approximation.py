"""Notebook 03's problem on one instance: the matrix to approximate and Adam's starting point."""

from dataclasses import dataclass

import numpy as np

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "03_rank1_approximation"
# The public problem: the first draws of torch.randn(2, 5), torch.randn(2), torch.randn(5) after
# torch.manual_seed(0), as float32 values (each one exact in a Python float).
PUBLIC_MAT = [
    [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427],
    [-1.3985954523086548, 0.40334683656692505, 0.8380263447761536, -0.7192575931549072, -0.40334352850914],
]
PUBLIC_X1 = [-0.5966353416442871, 0.18203648924827576]
PUBLIC_X2 = [
    -0.8566746115684509,
    1.1006041765213013,
    -1.0711873769760132,
    0.1227012425661087,
    -0.5663174986839294,
]
# σ₂/σ₁ of a hidden matrix (the public one's is 0.34): a clear gap between the singular values, so that
# Adam settles on the optimum well within its 400 steps.
SINGULAR_VALUE_RATIO = (0.2, 0.5)
# Adam's setting in the notebook, rehearsed here (float64) to keep only problems where it settles for good.
LEARNING_RATE, STEPS = 0.1, 400
SETTLED_GAP = 1e-6


@dataclass(frozen=True)
class Problem:
    """What one instance of notebook 03 gives the student, in plain Python numbers."""

    mat: list[list[float]]  # the 2×5 matrix to approximate by X1 X2ᵀ
    x1_init: list[float]  # Adam's starting X1
    x2_init: list[float]  # Adam's starting X2


def problem(number: int) -> Problem:
    """Instance `number` of notebook 03: the public problem for 0, else drawn from its own generator."""
    if number == PUBLIC_INSTANCE:
        return Problem(PUBLIC_MAT, PUBLIC_X1, PUBLIC_X2)
    rng = instance_generator(NOTEBOOK, number)
    while True:
        # Four decimals: the student reads the numbers the setup cell prints.
        mat, x1, x2 = (np.round(rng.standard_normal(shape), 4) for shape in ((2, 5), (2,), (5,)))
        u, singular_values, vh = np.linalg.svd(mat)
        ratio = singular_values[1] / singular_values[0]
        # The start projects visibly on the top singular vectors: not next to the saddle at the origin.
        away_from_saddle = min(abs(u[:, 0] @ x1), abs(vh[0] @ x2)) >= 0.2
        clear_gap = SINGULAR_VALUE_RATIO[0] <= ratio <= SINGULAR_VALUE_RATIO[1]
        if clear_gap and away_from_saddle and settles(mat, x1, x2):
            return Problem(mat.tolist(), x1.tolist(), x2.tolist())


def settles(mat: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> bool:
    """Whether the notebook's Adam run, rehearsed in float32 and in float64, ends its last quarter within
    SETTLED_GAP of the optimum σ₂² in both: Adam at lr 0.1 sometimes jumps away again late, once its
    gradients are down to rounding noise, and a float64 run would then no longer match the reference."""
    return all(
        _settles(mat.astype(dtype), x1.astype(dtype), x2.astype(dtype)) for dtype in (np.float32, np.float64)
    )


def _settles(mat: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> bool:
    dtype = mat.dtype.type
    optimum = np.linalg.svd(mat, compute_uv=False)[1] ** 2
    params = [x1.copy(), x2.copy()]
    moments, squares = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    beta1, beta2, eps = dtype(0.9), dtype(0.999), dtype(1e-8)
    for step in range(1, STEPS + 1):
        residual = mat - np.outer(*params)
        if step > 3 * STEPS // 4 and (residual**2).sum() - optimum > SETTLED_GAP:
            return False
        gradients = (-2 * residual @ params[1], -2 * residual.T @ params[0])
        for param, moment, square, gradient in zip(params, moments, squares, gradients, strict=True):
            moment[:] = beta1 * moment + (1 - beta1) * gradient
            square[:] = beta2 * square + (1 - beta2) * gradient**2
            denominator = np.sqrt(square / (1 - beta2**step)) + eps
            param -= dtype(LEARNING_RATE) * moment / (1 - beta1**step) / denominator
    return True
