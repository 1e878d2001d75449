"""Comparison kinds: each compares a student's value with the reference and explains a mismatch.

A kind is a function (expected, got, tolerance) -> Verdict. The fraction is the share of credit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graders.tolerances import DIAGNOSIS_SHARE, Tolerance


@dataclass(frozen=True)
class Verdict:
    """Share of credit earned, what was found, and the likely mistake when one is recognised."""

    fraction: float
    message: str
    diagnosis: str = ""


Kind = Callable[[Any, Any, Tolerance], Verdict]

DIVERGED = (
    "your values diverged (NaN or infinity): is the learning rate too large, or the sign of the step wrong?"
)


class NotNumeric(ValueError):
    """The student's value cannot be read as numbers."""


def as_numbers(value: Any) -> np.ndarray:
    """Read a number, nested list or array as a float64 array, or say why it is not one."""
    if value is None:
        raise NotNumeric("the value is None: did the cell that computes it run?")
    if isinstance(value, str | dict):
        raise NotNumeric(f"expected numbers, got a {type(value).__name__}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise NotNumeric("expected numbers of one shape, got a ragged or non-numeric list") from None
    return array


def single_number(value: Any) -> float:
    """The one finite number in a float or a one-element list or array, or NotNumeric saying why not."""
    answer = as_numbers(value)
    if answer.size != 1:
        raise NotNumeric(f"expected a single number, got shape {answer.shape}")
    number = float(answer.reshape(()))
    if not np.isfinite(number):
        raise NotNumeric(DIVERGED)
    return number


def comparable(reference: np.ndarray, got: Any) -> np.ndarray | Verdict:
    """The answer as finite numbers of the reference's shape, or the failing verdict that says why not."""
    try:
        answer = as_numbers(got)
    except NotNumeric as problem:
        return Verdict(0.0, str(problem))
    if answer.shape != reference.shape:
        message = f"wrong shape: expected {reference.shape}, got {answer.shape}"
        return Verdict(0.0, message, _shape_hint(reference, answer))
    if not np.all(np.isfinite(answer)):
        return Verdict(0.0, DIVERGED)
    return answer


def array(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """Every element within tolerance of the reference; shape must match exactly."""
    reference = np.asarray(expected, dtype=np.float64)
    answer = comparable(reference, got)
    if isinstance(answer, Verdict):
        return answer
    matches = np.isclose(answer, reference, rtol=tolerance.rtol, atol=tolerance.atol)
    if matches.all():
        return Verdict(1.0, "matches the reference")
    index = tuple(int(i) for i in np.argwhere(~matches)[0])
    where = f" at index {list(index)}" if index else ""
    message = f"differs{where}: expected {reference[index]:.6g}, got {answer[index]:.6g}"
    return Verdict(
        0.0, message + _scale_note(reference, answer, tolerance), diagnose(reference, answer, tolerance)
    )


def scalar(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """One number; a one-element list or array counts as that number."""
    try:
        value = single_number(got)
    except NotNumeric as problem:
        return Verdict(0.0, str(problem))
    return array(np.reshape(expected, ()), value, tolerance)


def small_positive(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """A small positive quantity (a residual norm, an excess loss): above zero, at most tolerance.atol and
    at least tolerance.floor times the reference, so a squared norm, a swapped ratio or a typed-in 0 fail.
    """
    try:
        value = single_number(got)
    except NotNumeric as problem:
        return Verdict(0.0, str(problem))
    bound = float(np.reshape(expected, ()))
    if value < 0:
        return Verdict(0.0, f"{value:.3g} is negative, and this quantity never is")
    if value == 0:
        return Verdict(0.0, "exactly 0", "compute it from your run: an optimiser never lands exactly on zero")
    if value < bound * tolerance.floor:
        return Verdict(0.0, f"{value:.3g} is orders of magnitude below the expected {bound:.2g}")
    if value > tolerance.atol:
        return Verdict(0.0, f"{value:.6g} is above the allowed {tolerance.atol:g}")
    return Verdict(1.0, f"{value:.3g} is small and positive, as expected")


# How much larger float32's rounding errors are than float64's: a residual a float32 run leaves at rounding
# level is this many times the float64 reference's (2^29).
FLOAT32_ROUNDING = float(np.finfo(np.float32).eps / np.finfo(np.float64).eps)


def rounding_residual(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """A residual norm that a converged run leaves at rounding level (‖AX − I‖_F), the reference from a
    float64 run: within a factor 1/tolerance.floor of that level, or of that level scaled to float32's
    rounding for a float32 run. A squared norm falls below or between the two and is named.
    """
    try:
        value = single_number(got)
    except NotNumeric as problem:
        return Verdict(0.0, str(problem))
    if value < 0:
        return Verdict(0.0, f"{value:.3g} is negative, and a norm never is")
    if value == 0:
        return Verdict(0.0, "exactly 0", "compute it from your run: rounding never leaves exactly zero")
    float64_level = float(np.reshape(expected, ()))
    float32_level = float64_level * FLOAT32_ROUNDING
    factor = 1 / tolerance.floor
    for precision, level in [("float64", float64_level), ("float32", float32_level)]:
        if level / factor <= value <= level * factor:
            return Verdict(1.0, f"{value:.3g} is at {precision}'s rounding level, as a converged run's is")
    if value < float64_level / factor:
        return Verdict(0.0, f"{value:.3g} is orders of magnitude below the expected {float64_level:.2g}")
    if value > float32_level * factor:
        return Verdict(0.0, f"{value:.3g} is above even float32's rounding level (about {float32_level:.2g})")
    message = (
        f"{value:.3g} is neither at float64's rounding level (about {float64_level:.2g}) "
        f"nor at float32's (about {float32_level:.2g})"
    )
    root = value**0.5
    if not float32_level / factor <= root <= float32_level * factor:
        return Verdict(0.0, message)
    squared = f"is it a float32 residual ({root:.2g}) squared? Store the norm, not its square"
    return Verdict(0.0, message, squared)


def near_zero(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """A number whose true value is zero (a gap to a known optimum): |got| <= tolerance.atol.

    The reference only approaches zero, so its own value is not compared. A miss above zero falls back
    on the spec's hint; one below zero means the optimum subtracted was the wrong one.
    """
    try:
        value = single_number(got)
    except NotNumeric as problem:
        return Verdict(0.0, str(problem))
    if abs(value) <= tolerance.atol:
        return Verdict(1.0, f"{value:.3g} is within {tolerance.atol:g} of zero")
    if value > 0:
        return Verdict(0.0, f"{value:.6g} is above zero by more than {tolerance.atol:g}")
    return Verdict(
        0.0,
        f"{value:.6g} is below zero by more than {tolerance.atol:g}",
        "a gap to the optimum cannot be negative: is the optimal value you subtracted the right one?",
    )


def equal(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """Exactly the reference value: names, flags, counts (the tolerance is not used)."""
    answer = got.tolist() if isinstance(got, np.ndarray) else got
    if answer == expected:
        return Verdict(1.0, "matches the reference")
    return Verdict(0.0, f"expected {expected!r}, got {answer!r}")


def trajectory(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """A list of steps; partial credit is the share of steps that match the reference."""
    reference = [np.asarray(step, dtype=np.float64) for step in expected]
    if not isinstance(got, list | tuple | np.ndarray) or np.ndim(got) == 0:
        return Verdict(0.0, f"expected a list of {len(reference)} steps, got {type(got).__name__}")
    steps = list(got)
    if len(steps) != len(reference):
        return Verdict(
            0.0,
            f"you recorded {len(steps)} steps, expected {len(reference)}: record one entry per step",
            _trajectory_diagnosis(reference, steps, tolerance),
        )
    # A converged run's last steps would match a history of one shared tensor: it earns nothing.
    if _all_identical([_readable_step(step) for step in steps]) and not _all_identical(reference):
        return Verdict(
            0.0,
            f"all {len(steps)} entries are the same value",
            "append a copy (x.detach().clone()), not x.data itself, which every later step changes in place",
        )
    matches = [
        index < len(steps) and _step_matches(ref, steps[index], tolerance)
        for index, ref in enumerate(reference)
    ]
    matched = sum(matches)
    fraction = matched / len(reference)
    if fraction == 1.0:
        return Verdict(1.0, f"all {len(reference)} steps match")
    first = matches.index(False)
    step = _readable_step(steps[first])
    message = f"{matched} of {len(reference)} steps match; first difference at step {first}: "
    if step is None:
        message += "that step is not a list of numbers of the reference's shape"
    elif not np.all(np.isfinite(step)):
        message += DIVERGED
    else:
        message += f"expected {_show_numbers(reference[first])}, got {_show_numbers(step)}"
    return Verdict(fraction, message, _trajectory_diagnosis(reference, steps, tolerance))


def sign_invariant_columns(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """Columns are directions defined up to sign: credit per column with |<u, u*>| close to 1."""
    reference = np.asarray(expected, dtype=np.float64)
    answer = comparable(reference, got)
    if isinstance(answer, Verdict):
        return answer
    norms = np.linalg.norm(answer, axis=0)
    unit = answer / np.where(norms > 0, norms, 1.0)
    alignment = np.abs(np.sum(unit * reference / np.linalg.norm(reference, axis=0), axis=0))
    aligned = 1.0 - alignment <= tolerance.atol
    fraction = float(aligned.mean())
    if aligned.all():
        return Verdict(1.0, f"all {aligned.size} columns point along the reference directions (up to sign)")
    column = int(np.argmin(aligned))
    message = f"column {column} points elsewhere: |<u, u*>| = {alignment[column]:.4f}, expected 1"
    return Verdict(
        fraction, message, "are the singular values (and their vectors) sorted in decreasing order?"
    )


def diagnose(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> str:
    """Name the mistake when the answer is certainly the reference transformed in a typical way."""
    if not np.all(np.isfinite(answer)):
        return ""
    if not np.any(answer):
        return "it is all zeros: did the computation run, or was the gradient zeroed before you read it?"
    if np.allclose(-answer, reference, rtol=tolerance.rtol, atol=tolerance.atol):
        return "the sign is flipped: did you forget the minus sign (or add one too many)?"
    return ""


def _scale_note(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> str:
    """'; it is the reference times k' when a constant k != 1 explains an array; the spec's hint says why."""
    # For one number every answer is some multiple of the reference, so the note would say nothing.
    denominator = float(np.vdot(reference, reference))
    if reference.size < 2 or denominator == 0 or not np.all(np.isfinite(answer)):
        return ""
    factor = float(np.vdot(reference, answer)) / denominator
    if factor == 0 or np.isclose(factor, 1.0, rtol=tolerance.rtol, atol=0.0) or np.isclose(factor, -1.0):
        return ""
    scaled = np.allclose(answer / factor, reference, rtol=tolerance.rtol, atol=tolerance.atol)
    return f"; it is the reference times {factor:.4g}" if scaled else ""


def _trajectory_diagnosis(reference: list[np.ndarray], steps: list[Any], tolerance: Tolerance) -> str:
    def share_matching(offset: int) -> float:
        pairs = [
            (reference[i + offset], steps[i]) for i in range(len(steps)) if 0 <= i + offset < len(reference)
        ]
        return sum(_step_matches(ref, step, tolerance) for ref, step in pairs) / max(len(pairs), 1)

    if share_matching(+1) >= DIAGNOSIS_SHARE:
        return "your record runs one step ahead: record the value before you take the step"
    if share_matching(-1) >= DIAGNOSIS_SHARE:
        return "your record runs one step behind: record the value after the step, as the reference does"
    readable = [_readable_step(step) for step in steps[: len(reference)]]
    if readable and all(
        step is not None and step.shape == ref.shape for step, ref in zip(readable, reference, strict=False)
    ):
        return diagnose(np.stack(reference[: len(readable)]), np.stack(readable), tolerance)
    return ""


def _all_identical(steps: list[np.ndarray | None]) -> bool:
    """At least two entries, all readable and equal to the first."""
    first = steps[0] if steps else None
    return (
        len(steps) > 1
        and first is not None
        and all(
            step is not None and step.shape == first.shape and np.array_equal(step, first) for step in steps
        )
    )


def _step_matches(reference: np.ndarray, step: Any, tolerance: Tolerance) -> bool:
    answer = _readable_step(step)
    return (
        answer is not None
        and answer.shape == reference.shape
        and bool(np.all(np.isfinite(answer)))
        and bool(np.allclose(answer, reference, rtol=tolerance.rtol, atol=tolerance.atol))
    )


def _readable_step(step: Any) -> np.ndarray | None:
    try:
        return as_numbers(step)
    except NotNumeric:
        return None


def _shape_hint(reference: np.ndarray, answer: np.ndarray) -> str:
    if reference.ndim == 2 and answer.shape == reference.shape[::-1]:
        return "it is the transpose of what is expected"
    if answer.size == reference.size:
        return "same number of values in another shape: check a reshape or a missing/extra dimension"
    return ""


def _show_numbers(values: np.ndarray) -> str:
    return np.array2string(values, precision=6, separator=", ", threshold=8)
