"""The quadratic bowls of notebooks 01, 02, 07 and 08, as functions of one 2-element tensor."""

from collections.abc import Callable, Sequence

import numpy as np

# Γ of the public stretched bowl, [[1, -1], [1, 1]] @ diag(1, 4): not symmetric, so not a rotation of a
# stretch; its Hessian 10·(Γ + Γᵀ) has eigenvalues about 92.4 and 7.57.
PUBLIC_GAMMA = [[1.0, -4.0], [1.0, 4.0]]


def round_bowl(variable):
    """f(x, y) = 10 (x² + y²) for a 2-element tensor: a round bowl with its minimum at the origin."""
    return 10 * (variable**2).sum()


def stretched_bowl(gamma: Sequence[Sequence[float]]) -> Callable:
    """g(v) = 10 · vᵀ(Γ v) for a 2-element tensor v, with the 2 × 2 matrix Γ = `gamma`: a stretched bowl."""
    matrix = np.asarray(gamma, dtype=float)
    if matrix.shape != (2, 2) or not np.isfinite(matrix).all():
        raise ValueError(f"a stretched bowl needs a 2 × 2 matrix Γ of finite numbers, not {gamma!r}")
    if np.linalg.eigvalsh(matrix + matrix.T)[0] <= 0:
        raise ValueError(f"Γ = {gamma!r} makes no bowl: Γ + Γᵀ must be positive definite")

    def function_skewed(variable):
        """10 · vᵀ(Γ v) for a 2-element tensor v: a stretched bowl with its minimum at the origin."""
        import torch  # only here: the module itself needs no torch

        gamma_tensor = torch.tensor(matrix.tolist(), dtype=variable.dtype)
        return 10 * (variable @ (gamma_tensor @ variable))

    return function_skewed


# The bowls of 08's playground, by name, each as its Γ: κ of the Hessian 1, about 12.2 and 25.
PLAYGROUND_BOWLS = {
    "round": [[1.0, 0.0], [0.0, 1.0]],
    "stretched (public Γ)": PUBLIC_GAMMA,
    "narrow valley": [[1.0, 0.0], [0.0, 25.0]],
}


def bowl_hessian(gamma: Sequence[Sequence[float]]) -> np.ndarray:
    """The Hessian 10 · (Γ + Γᵀ) of the bowl g(v) = 10 · vᵀ(Γ v): its eigenvectors are the bowl's axes."""
    matrix = np.asarray(gamma, dtype=float)
    return 10 * (matrix + matrix.T)
