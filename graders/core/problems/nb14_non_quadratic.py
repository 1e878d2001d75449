"""Notebook 14's problem for one instance: the two-blob data set, the start, and a fixed step that is stable
at the start but not near the minimum."""

from dataclasses import dataclass

import numpy as np
import torch

from graders.core.instances import PUBLIC_INSTANCE, instance_generator

NOTEBOOK = "14_non_quadratic"
POINTS = 60  # per data set: half of each class
# The fixed step sits this far above 2/λmax at the minimum: past the edge, where gradient descent settles
# into a clean two-cycle instead of converging (much further, the cycle splits and the run turns chaotic).
OVERSHOOT = 1.12
# A hidden instance is kept only where that step is at most this share of the start's stable step 2/λmax.
START_MARGIN = 0.85
# The notebook's line search: sufficient-decrease constant and number of steps.
ARMIJO_C, ARMIJO_STEPS = 0.5, 12
# A hidden instance is kept only where every Armijo test of its line search passes or fails by more than
# this share of the loss: far above rounding, so any correct code takes the same branches.
TIE_MARGIN = 1e-9


@dataclass(frozen=True)
class Problem:
    """Blobs of `POINTS` points `separation` apart drawn from `seed`, the start, the fixed step, and the line
    search's first trial step."""

    seed: int
    separation: float
    start: tuple[float, float, float]
    lr_fixed: float
    t_initial: float

    def data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Features with a column of ones for the bias (POINTS × 3, float64), and labels 0/1."""
        return blobs(self.seed, self.separation)


def blobs(seed: int, separation: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two overlapping Gaussian blobs, centred at ±separation·(1, 0.5), labels alternating 0, 1, 0, …"""
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.arange(POINTS) % 2).double()
    centre = separation * torch.tensor([1.0, 0.5], dtype=torch.float64)
    points = torch.randn(POINTS, 2, dtype=torch.float64, generator=generator) + torch.outer(
        2 * labels - 1, centre
    )
    return torch.cat([points, torch.ones(POINTS, 1, dtype=torch.float64)], dim=1), labels


def largest_curvature(features: np.ndarray, weights: np.ndarray) -> float:
    """λmax of the mean cross-entropy's Hessian Xᵀ diag(p(1 − p)) X / n at `weights`."""
    p = 1 / (1 + np.exp(-features @ weights))
    return float(np.linalg.eigvalsh(features.T @ (features * (p * (1 - p))[:, None]) / len(features)).max())


def minimiser(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The cross-entropy's minimiser by Newton's method from zero (the blobs overlap: it is finite)."""
    weights = np.zeros(features.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-features @ weights))
        hessian = features.T @ (features * (p * (1 - p))[:, None])
        weights = weights - np.linalg.solve(hessian, features.T @ (p - labels))
    return weights


def cross_entropy(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """The mean cross-entropy of logistic regression, from the logits."""
    logits = features @ weights
    return float(np.mean(np.logaddexp(0, logits) - labels * logits))


def closest_armijo_test(seed: int, separation: float, start: tuple[float, ...], t_initial: float) -> float:
    """The smallest |f(w) − c·t·‖∇f‖² − f(w − t∇f)| / f(w) over every trial of the notebook's line search."""
    features, labels = (tensor.numpy() for tensor in blobs(seed, separation))
    weights, closest = np.array(start), np.inf
    for _ in range(ARMIJO_STEPS):
        loss = cross_entropy(features, labels, weights)
        gradient = features.T @ (1 / (1 + np.exp(-features @ weights)) - labels) / len(labels)
        t = 2 * t_initial
        while True:
            t /= 2
            gap = (
                loss
                - ARMIJO_C * t * gradient @ gradient
                - cross_entropy(features, labels, weights - t * gradient)
            )
            closest = min(closest, abs(gap) / loss)
            if gap >= 0:
                break
        weights = weights - t * gradient
    return closest


def fixed_step(seed: int, separation: float, start: tuple[float, float, float]) -> tuple[float, float]:
    """The fixed step OVERSHOOT × 2/λmax(minimum) to two digits, and its share of 2/λmax(start)."""
    features, labels = (tensor.numpy() for tensor in blobs(seed, separation))
    at_minimum = largest_curvature(features, minimiser(features, labels))
    lr = float(f"{OVERSHOOT * 2 / at_minimum:.2g}")
    return lr, lr * largest_curvature(features, np.array(start)) / 2


def _problem(seed: int, separation: float, start: tuple[float, float, float], t_initial: float) -> Problem:
    return Problem(seed, separation, start, fixed_step(seed, separation, start)[0], t_initial)


# The start is confidently wrong (weights opposite to the blobs' direction): the sigmoid is saturated there,
# so the curvature is low, and it rises on the way to the minimum.
PUBLIC_SEED, PUBLIC_SEPARATION, PUBLIC_START, PUBLIC_T_INITIAL = 5, 1.1, (-6.0, -3.0, 0.0), 64.0
SEPARATION_RANGE = (0.9, 1.3)
START_RADIUS_RANGE = (5.0, 7.0)
# Every accepted step is the first trial step over a power of two: trial steps from this range, other than
# the public 64, share no accepted step with the public instance (their ratios to 64 are no power of two).
T_INITIAL_RANGE = (40, 100)


def problem(number: int) -> Problem:
    """Instance `number` of notebook 14: the public problem for 0, else one drawn for that number."""
    if number == PUBLIC_INSTANCE:
        return _problem(PUBLIC_SEED, PUBLIC_SEPARATION, PUBLIC_START, PUBLIC_T_INITIAL)
    draws = instance_generator(NOTEBOOK, number)
    while True:  # a few draws at most: most keep the lesson
        seed = int(draws.integers(1, 2**31))
        separation = round(float(draws.uniform(*SEPARATION_RANGE)), 2)
        radius, angle, bias = (
            draws.uniform(*START_RADIUS_RANGE),
            draws.uniform(0.3, 0.6),
            draws.uniform(-1, 1),
        )
        start = tuple(
            round(float(value), 1) for value in (-radius * np.cos(angle), -radius * np.sin(angle), bias)
        )
        t_initial = float(draws.integers(*T_INITIAL_RANGE))
        if (
            fixed_step(seed, separation, start)[1] <= START_MARGIN
            and t_initial != PUBLIC_T_INITIAL
            and closest_armijo_test(seed, separation, start, t_initial) > TIE_MARGIN
        ):
            return _problem(seed, separation, start, t_initial)
