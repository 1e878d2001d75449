"""The course's shared drawings: contour lines of a 2-D bowl, optimisation paths on them, loss curves.

Notebooks 01, 02, 07 and 08 import these instead of repeating them; each notebook keeps its own steps.
"""

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

GRID_POINTS = 200
CONTOUR_LEVELS = 15
# The lowest contour: the bowls' values at the edge of the plots run from about 1e2 to 1e4.
LOWEST_LEVEL = 0.5


def draw_contours(
    ax: Axes, function: Callable, limit: float = 10.0, title: str = "", alpha: float = 1.0
) -> None:
    """Contour lines of `function` (of one 2-element tensor) on [-limit, limit]², the minimum at 0."""
    if not callable(function):
        kind = type(function).__name__
        raise TypeError(f"draw_contours needs a function of a 2-element tensor, not {kind}")
    if not np.isfinite(limit) or limit <= 0:
        raise ValueError(f"draw_contours: limit must be a positive number, not {limit!r}")
    import torch  # only here: the module itself needs no torch

    grid = torch.linspace(-limit, limit, GRID_POINTS)
    xs, ys = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():  # vmap applies a function written for one point to the whole grid at once
        values = torch.func.vmap(function)(torch.stack([xs.ravel(), ys.ravel()], dim=1)).reshape(xs.shape)
    highest = values.max().item()
    if not np.isfinite(highest) or highest <= LOWEST_LEVEL:
        raise ValueError(f"draw_contours: the largest value on the plot is {highest:.3g}: is it a bowl?")
    # Levels spaced geometrically: quadratic bowls span several orders of magnitude.
    levels = np.geomspace(LOWEST_LEVEL, highest, CONTOUR_LEVELS)
    ax.contour(xs.numpy(), ys.numpy(), values.numpy(), levels=levels, cmap="viridis", alpha=alpha)
    ax.plot(0, 0, "k*", markersize=12, zorder=10, label="minimum")  # above every path
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
    ax.set(xlabel="$x$", ylabel="$y$", title=title)


def as_points(points: Sequence, label: str) -> np.ndarray:
    """2-D points (tensors, arrays or lists) as an (n, 2) float array; a clear error otherwise."""
    try:
        array = np.array([np.asarray(point, dtype=float) for point in points])
    except (TypeError, ValueError) as error:
        raise ValueError(f"the points of {label!r} are not all pairs of numbers: {error}") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"the points of {label!r} should be pairs (x, y), not of shape {array.shape[1:]}")
    return array


def draw_trajectory(
    ax: Axes, points: Sequence, label: str, color: str = "tab:red", mark_start: bool = True, **style
) -> None:
    """2-D points as a line with dots, the start marked by a square. `style` overrides the line's look
    (marker, markevery, linestyle, linewidth, alpha, zorder) so that overlapping paths stay apart."""
    if len(points) == 0:  # a task skipped or stopped at its stub: say so rather than fail in here
        print(f"nothing to draw for {label!r}: run the task above first")
        return
    array = as_points(points, label)
    ax.plot(array[:, 0], array[:, 1], color=color, label=label, **{"marker": "o", "markersize": 2} | style)
    if mark_start:
        ax.plot(*array[0], "s", color=color, markersize=6)


def draw_loss_curves(
    curves: Mapping[str, Sequence[float]], title: str, styles: Mapping[str, dict] | None = None
) -> None:
    """Function value per step of each labelled curve, on a linear and a log scale side by side, one legend
    beside them, shown; `styles` maps a label to its line's look (color, linestyle, ...)."""
    if not isinstance(curves, Mapping):
        raise TypeError(f"draw_loss_curves takes {{label: values}}, not {type(curves).__name__}")
    drawn = {}
    for label, values in curves.items():
        if len(values) == 0:  # a task skipped or stopped at its stub
            print(f"no function values to draw for {label!r}: run the task above first")
            continue
        array = np.asarray(values, dtype=float)
        if array.ndim != 1:
            shape = array.shape
            raise ValueError(f"the values of {label!r} should be one number per step, not of shape {shape}")
        drawn[label] = array
    if not drawn:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5), layout="constrained")
    for ax, scale in zip(axes, ["linear", "log"], strict=True):
        for label, values in drawn.items():
            ax.plot(values, label=label, **(styles or {}).get(label, {}))
        ax.set(yscale=scale, xlabel="step", ylabel="function value", title=f"{title} ({scale} scale)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center")
    plt.show()


def draw_playground(
    function: Callable, hessian: Sequence[Sequence[float]], points: Sequence, title: str, limit: float = 12.0
) -> None:
    """One run on a 2-D bowl with its minimum at 0, shown in three panels: the path on the contours, the
    function value ½ xᵀHx per step and the error |qᵢᵀx| along each eigenvector qᵢ of the Hessian H."""
    array = as_points(points, title)
    matrix = np.asarray(hessian, dtype=float)
    if matrix.shape != (2, 2) or not np.allclose(matrix, matrix.T):
        raise ValueError(f"draw_playground needs the bowl's symmetric 2 × 2 Hessian, not {hessian!r}")
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows: its curves end there
        values = 0.5 * np.einsum("ki,ij,kj->k", array, matrix, array)
        errors = np.abs(array @ eigenvectors)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    fig.suptitle(title)
    draw_contours(axes[0], function, limit=limit, title="Path", alpha=0.6)
    draw_trajectory(axes[0], array, "path", marker="o", markersize=2, linewidth=1)
    steps = np.arange(len(array))
    axes[1].semilogy(steps, values)
    axes[1].set(xlabel="step k", ylabel="function value", title="Loss per step")
    for i, color in enumerate(["C0", "C3"]):
        axes[2].semilogy(steps, errors[:, i], color=color, label=f"along q{i + 1}, λ = {eigenvalues[i]:.3g}")
    axes[2].set(xlabel="step k", ylabel="|qᵢᵀ x_k|", title="Error along each eigendirection")
    axes[2].legend(fontsize=8)
    plt.show()
