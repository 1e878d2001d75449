"""Notebook 10's problem instances: the point where the gradient is checked and the grid of step sizes."""

from typing import NamedTuple

import numpy as np

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "10_gradient_checking"
# Task 1 differences at h = 1e-6. There a forward difference errs by about h/2·|∂²f/∂xᵢ²|, which must
# exceed what EXACT grading forgives (1e-6·|gᵢ| + 1e-8) by half as much again on some coordinate, as on
# the public point (1.47 times), so that the check still tells a forward difference from a central one.
FD_STEP = 1e-6
FORWARD_MARGIN = 1.5


class GradientCheckProblem(NamedTuple):
    """The point x0 of f(x) = Σ sin(3xᵢ)·exp(xᵢ) + Π xᵢ², and the step sizes h of task 2."""

    x0: list[float]
    step_sizes: list[float]


def gradient_check_problem(number: int) -> GradientCheckProblem:
    """Instance `number`: 0 is the public x0 = (0.5, -1, 2) with h = 10⁻¹ … 10⁻¹²."""
    draw = instance_generator(NOTEBOOK, number)
    x0, scale = [0.5, -1.0, 2.0], 1.0
    if number != PUBLIC_INSTANCE:
        x0 = drawn_point(draw)
        # A grid of the same decades shifted by a factor 1.6 to 6.3: its best steps are its own.
        scale = round(float(10 ** draw.uniform(0.2, 0.8)), 1)
    # Written out in decimal, so that each h is the double nearest to what the notebook prints.
    return GradientCheckProblem(x0, [float(f"{scale}e-{k}") for k in range(1, 13)])


def drawn_point(draw: np.random.Generator) -> list[float]:
    """A point with coordinates from -1.5 to 2 (two decimals) where a forward difference shows."""
    while True:
        point = [round(float(value), 2) for value in draw.uniform(-1.5, 2.0, 3)]
        if forward_error_ratio(point) >= FORWARD_MARGIN:
            return point


def forward_error_ratio(point: list[float]) -> float:
    """Largest ratio over the coordinates of the forward difference's error at FD_STEP to EXACT's slack."""
    x = np.asarray(point)
    # Π_{j≠i} x_j², the factor the product term contributes to the i-th derivatives.
    others = np.array([np.prod(np.delete(x, i) ** 2) for i in range(len(x))])
    gradient = np.exp(x) * (3 * np.cos(3 * x) + np.sin(3 * x)) + 2 * x * others
    curvature = np.exp(x) * (6 * np.cos(3 * x) - 8 * np.sin(3 * x)) + 2 * others
    return float(np.max(FD_STEP / 2 * np.abs(curvature) / (1e-6 * np.abs(gradient) + 1e-8)))
