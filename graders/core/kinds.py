"""Comparison kinds: each compares a student's value with the reference and explains a mismatch.

A kind is a function (expected, got, tolerance) -> Verdict. The fraction is the share of credit. A message
says how an answer is wrong (sign, factor, order, shape, which element or step and which way) and never
prints a reference value or part of one: only the student's own values, shapes, positions and factors.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graders.core.tolerances import DIAGNOSIS_SHARE, Tolerance


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
ZEROS = "it is all zeros: did the computation run, or was the gradient zeroed before you read it?"
SIGN = "the sign is flipped: did you forget the minus sign (or add one too many)?"
RECIPROCAL = "as if numerator and denominator were swapped"
INTEGER_CAST = "was the result rounded, or cast to an integer dtype, before you stored it?"
HALF_PRECISION = "was it computed or stored in half precision (float16)?"
UPHILL = (
    "the run went uphill: is each step taken against the gradient (the minus sign), and is the learning "
    "rate small enough?"
)

# Factors a typical slip multiplies a value by (a factor 2 dropped or counted twice, a mean for a sum, a
# power of ten) are named exactly; any other factor only to one or two significant digits, so that dividing
# by it never rebuilds the reference within a tolerance.
SIMPLE_FACTORS = (2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 16.0, 20.0, 100.0, 1000.0)


def _quiet(kind: Kind) -> Kind:
    """The kind without numpy's overflow warnings on huge answers: a self-check would print them."""

    @functools.wraps(kind)
    def quiet(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
        with np.errstate(all="ignore"):
            return kind(expected, got, tolerance)

    return quiet


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


@_quiet
def array(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """Every element within tolerance of the reference; shape must match exactly."""
    reference = np.asarray(expected, dtype=np.float64)
    answer = comparable(reference, got)
    if isinstance(answer, Verdict):
        return answer
    if np.allclose(answer, reference, rtol=tolerance.rtol, atol=tolerance.atol):
        return Verdict(1.0, "matches the reference")
    found = _pattern(reference, answer, tolerance, _names(reference))
    if found is not None:
        return Verdict(0.0, f"differs: {found[0]}", found[1])
    return Verdict(0.0, f"differs: {_first_difference(reference, answer, tolerance)}")


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
        return Verdict(0.0, "exactly 0", "is it computed from your run? No optimiser ends exactly on zero")
    if value < bound * tolerance.floor:
        return Verdict(0.0, f"{value:.3g} is orders of magnitude below what a finished run leaves")
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
        return Verdict(0.0, "exactly 0", "is it computed from your run? Rounding never leaves exactly zero")
    float64_level = float(np.reshape(expected, ()))
    float32_level = float64_level * FLOAT32_ROUNDING
    factor = 1 / tolerance.floor
    for precision, level in [("float64", float64_level), ("float32", float32_level)]:
        if level / factor <= value <= level * factor:
            return Verdict(1.0, f"{value:.3g} is at {precision}'s rounding level, as a converged run's is")
    if value < float64_level / factor:
        return Verdict(0.0, f"{value:.3g} is orders of magnitude below float64's rounding level")
    if value > float32_level * factor:
        return Verdict(0.0, f"{value:.3g} is above even float32's rounding level: the run has not converged")
    message = f"{value:.3g} is neither at float64's rounding level nor at float32's"
    root = value**0.5
    if not float32_level / factor <= root <= float32_level * factor:
        return Verdict(0.0, message)
    return Verdict(0.0, message, "is it the square of a float32 residual? The task asks for the norm")


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
    return Verdict(0.0, _unequal(expected, answer, tolerance))


@_quiet
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
            "is every entry the same tensor, which each later step changes in place? append a copy of its "
            "value (clone()) instead",
        )
    matches = [_step_matches(ref, step, tolerance) for ref, step in zip(reference, steps, strict=True)]
    matched = sum(matches)
    fraction = matched / len(reference)
    if fraction == 1.0:
        return Verdict(1.0, f"all {len(reference)} steps match")
    first = matches.index(False)
    step = _readable_step(steps[first])
    message = f"{matched} of {len(reference)} steps match; first difference at step {first}: "
    if step is None or step.shape != reference[first].shape:
        message += f"that step is not numbers of shape {reference[first].shape}"
    elif not np.all(np.isfinite(step)):
        message += DIVERGED
    else:
        message += _step_difference(reference, steps, first, tolerance)
    return Verdict(fraction, message, _trajectory_diagnosis(reference, steps, tolerance))


@_quiet
def sign_invariant_columns(expected: Any, got: Any, tolerance: Tolerance) -> Verdict:
    """Columns are directions defined up to sign: credit per column with |<u, u*>| close to 1."""
    reference = np.asarray(expected, dtype=np.float64)
    answer = comparable(reference, got)
    if isinstance(answer, Verdict):
        return answer
    unit = _unit_columns(answer)
    alignment = np.abs(unit.T @ _unit_columns(reference))  # [answer column, reference column]
    aligned = 1.0 - np.diagonal(alignment) <= tolerance.atol
    fraction = float(aligned.mean())
    if aligned.all():
        return Verdict(1.0, f"all {aligned.size} columns point along the reference directions (up to sign)")
    column = int(np.argmin(aligned))
    partners = np.argmax(alignment, axis=1)
    if np.all(1.0 - alignment.max(axis=1) <= tolerance.atol) and len(set(partners.tolist())) == len(partners):
        return Verdict(
            fraction,
            f"the columns point along the right directions in another order (column {column} first differs)",
            "are the vectors permuted with their singular values, so both are sorted in decreasing order?",
        )
    return Verdict(
        fraction,
        f"{int(aligned.sum())} of {aligned.size} columns point along the reference directions (up to sign); "
        f"column {column} points elsewhere",
    )


def _pattern(
    reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance, names: tuple[str, str, str]
) -> tuple[str, str] | None:
    """(how, likely cause) when the whole answer is the reference transformed in a typical way; names are
    the whole answer's, each part's and the parts' (("it", "every element", "values"))."""
    whole, each, items = names

    def close(candidate: np.ndarray) -> bool:
        return bool(np.allclose(answer, candidate, rtol=tolerance.rtol, atol=tolerance.atol))

    if not np.any(answer):
        return f"{each} is zero", ZEROS
    if close(-reference):
        return f"{each} has the opposite sign", SIGN
    # A swapped ratio before a factor: √10's reciprocal is also a tenth of it.
    if np.all(reference != 0) and close(1 / np.where(reference != 0, reference, 1.0)):
        return f"{each} is the reciprocal of the expected value, {RECIPROCAL}", ""
    factor = _simple_factor(reference, answer, tolerance)
    if factor is not None:
        return f"{whole} is the reference times {factor:g}", ""
    if _whole_numbers(reference) and _whole_numbers(answer):
        offsets = set((answer - reference).ravel().tolist())
        if offsets in ({1.0}, {-1.0}):
            return f"{each} is one too {'large' if offsets == {1.0} else 'small'}", ""
    rounded = close(np.round(reference)) or close(np.trunc(reference))
    if rounded and _whole_numbers(answer) and not _whole_numbers(reference):
        return f"{whole} is rounded to whole numbers", INTEGER_CAST
    if _half_precision(reference, answer, tolerance):
        return f"{whole} agrees with the reference only to float16's precision", HALF_PRECISION
    if reference.size >= 2:
        found = _reordered(reference, answer, tolerance, whole, items)
        if found:
            return found, ""
        scale = _common_factor(reference, answer, tolerance)
        if scale:
            return f"{whole} is {scale}", ""
    return None


def _half_precision(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> bool:
    """The answer is float16 numbers that round the reference."""
    largest = float(np.finfo(np.float16).max)
    if np.any(np.abs(reference) > largest) or np.any(np.abs(answer) > largest):
        return False
    half = reference.astype(np.float16).astype(np.float64)
    return bool(
        np.array_equal(answer.astype(np.float16), answer)
        and np.allclose(answer, half, rtol=float(np.finfo(np.float16).eps), atol=tolerance.atol)
    )


def _reordered(
    reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance, whole: str, items: str
) -> str:
    """How the answer holds the reference's values in another arrangement, or ''."""

    def close(first: np.ndarray, second: np.ndarray) -> bool:
        return bool(np.allclose(first, second, rtol=tolerance.rtol, atol=tolerance.atol))

    if reference.ndim == 2 and reference.shape[0] == reference.shape[1] and close(answer, reference.T):
        return f"{whole} is the transpose of the expected matrix"
    if close(answer, reference[::-1]):
        return f"{whole} holds the right {items} in reverse order"
    if reference.ndim == 2 and close(answer, reference[:, ::-1]):
        return f"{whole} holds the right columns in reverse order"
    if reference.ndim == 1 and reference.size >= 3 and not close(reference[1:], reference[:-1]):
        if close(answer[1:], reference[:-1]):
            return f"{whole} holds the right {items} shifted one position later"
        if close(answer[:-1], reference[1:]):
            return f"{whole} holds the right {items} shifted one position earlier"
    if close(np.sort(answer.ravel()), np.sort(reference.ravel())):
        return f"{whole} holds the right values in another order"
    return ""


def _simple_factor(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> float | None:
    """The simple factor k (SIMPLE_FACTORS, their inverses, negated) with answer = k·reference, if any."""
    if not np.any(np.abs(reference) > tolerance.atol):
        return None
    for size in SIMPLE_FACTORS:
        for factor in (size, 1 / size, -size, -1 / size):
            if np.allclose(answer, factor * reference, rtol=tolerance.rtol, atol=tolerance.atol):
                return float(f"{factor:.6g}")
    return None


def _common_factor(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> str:
    """'the reference times about k' when one constant (not ±1 or simple) explains every element, else ''."""
    denominator = float(np.vdot(reference, reference))
    if denominator == 0:
        return ""
    factor = float(np.vdot(reference, answer)) / denominator
    if factor == 0 or not np.allclose(answer / factor, reference, rtol=tolerance.rtol, atol=tolerance.atol):
        return ""
    rough = _roughly(factor)
    if rough in ("1", "-1"):
        return f"slightly too {'large' if abs(factor) > 1 else 'small'}, every element by the same factor"
    return f"the reference times about {rough}"


def _roughly(factor: float) -> str:
    """A factor to two significant digits near 1, one elsewhere: enough to see, too coarse to undo."""
    digits = 2 if 0.5 < abs(factor) < 2 else 1
    return f"{float(f'{factor:.{digits}g}'):g}"


def _first_difference(reference: np.ndarray, answer: np.ndarray, tolerance: Tolerance) -> str:
    """Where the answer first differs and how, for a difference no whole-answer pattern explains."""
    differs = ~np.isclose(answer, reference, rtol=tolerance.rtol, atol=tolerance.atol)
    index = tuple(int(i) for i in np.argwhere(differs)[0])
    how = _how_one(float(reference[index]), float(answer[index]), tolerance)
    if not index:
        return f"it is {how}"
    count = int(differs.sum())
    if count == 1:
        return f"only index {list(index)}, which is {how}"
    return f"{count} of {differs.size} elements, the first at index {list(index)}, which is {how}"


def _how_one(expected: float, got: float, tolerance: Tolerance) -> str:
    """How one number differs from the expected one, in words and factors, never the expected value."""
    direction = "large" if got > expected else "small"
    if abs(expected) <= tolerance.atol:
        return f"too {direction}"
    if got == 0:
        return "zero"
    if np.isclose(-got, expected, rtol=tolerance.rtol, atol=tolerance.atol):
        return "of the opposite sign"
    if np.sign(got) != np.sign(expected):
        return "of the wrong sign"
    if float(got).is_integer() and float(expected).is_integer() and abs(got - expected) == 1:
        return f"one too {direction}"
    if np.isclose(got * expected, 1.0, rtol=tolerance.rtol, atol=0.0):
        return "the reciprocal of the expected value"
    ratio = abs(got / expected)
    larger = max(ratio, 1 / ratio)
    factor = _simple_factor(np.array(abs(expected)), np.array(abs(got)), tolerance)
    if factor is not None:
        return f"{max(factor, 1 / factor):g}× too {direction}"
    # Wording only, no credit depends on it: within 10 % is "slightly", from 1.5× a rough factor.
    if larger >= 1000:
        return f"orders of magnitude too {direction}"
    if larger >= 1.5:
        return f"about {_roughly(larger)}× too {direction}"
    return f"{'slightly ' if larger < 1.1 else ''}too {direction}"


def _unequal(expected: Any, answer: Any, tolerance: Tolerance) -> str:
    """'differs' and how an exact value (a name, flag, count or list of them) does, naming no expected
    element."""
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if isinstance(expected, list | tuple):
        if not isinstance(answer, list | tuple):
            return f"differs: expected a list of {len(expected)} elements, got a {type(answer).__name__}"
        if len(answer) != len(expected):
            return f"differs: {_missing_or_extra(list(expected), list(answer))}"
        if list(answer) == list(expected)[::-1]:
            return "differs: the right elements in reverse order"
        if _same_elements(list(expected), list(answer)):
            return "differs: the right elements in another order"
        wrong = [i for i, (e, a) in enumerate(zip(expected, answer, strict=True)) if a != e]
        how = _unequal(expected[wrong[0]], answer[wrong[0]], tolerance).removeprefix("differs: ")
        if len(wrong) == 1:
            return f"differs at element [{wrong[0]}] only: {how}"
        return f"differs at {len(wrong)} of {len(expected)} elements, first at element [{wrong[0]}]: {how}"
    if type(answer) is not type(expected) and not _both_numbers(expected, answer):
        return f"differs: got a value of type {type(answer).__name__}, expected {type(expected).__name__}"
    if _both_numbers(expected, answer) and not isinstance(expected, bool):
        return f"differs: it is {_how_one(float(expected), float(answer), tolerance)}"
    return f"differs: yours is {answer!r}"


def _missing_or_extra(expected: list[Any], answer: list[Any]) -> str:
    """Which position one missing or extra element sits at, or both lengths."""
    shorter, longer = (answer, expected) if len(answer) < len(expected) else (expected, answer)
    if len(longer) == len(shorter) + 1:
        for position in range(len(longer)):
            if longer[:position] + longer[position + 1 :] == shorter:
                what = "one element is missing" if shorter is answer else "one element too many"
                return f"{what}, at position [{position}]"
    return f"you have {len(answer)} elements, expected {len(expected)}"


def _same_elements(expected: list[Any], answer: list[Any]) -> bool:
    remaining = list(answer)
    for element in expected:
        if element not in remaining:
            return False
        remaining.remove(element)
    return True


def _both_numbers(*values: Any) -> bool:
    return all(isinstance(value, int | float | np.number) for value in values)


def _whole_numbers(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _unit_columns(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=0)
    return matrix / np.where(norms > 0, norms, 1.0)


RECORD = ("the whole record", "every step", "steps")


def _names(reference: np.ndarray) -> tuple[str, str, str]:
    """How _pattern names an answer of the reference's shape, its parts and their kind."""
    items = "values" if reference.ndim == 1 else "rows" if reference.ndim == 2 else "entries"
    return "it", "it" if reference.size == 1 else "every element", items


def _step_difference(reference: list[np.ndarray], steps: list[Any], first: int, tolerance: Tolerance) -> str:
    """How the first differing step differs, or how the whole record does when one pattern explains it."""
    record = _stacked(reference, steps)
    whole = _pattern(*record, tolerance, RECORD) if record is not None else None
    if whole is not None:
        return whole[0]
    step = as_numbers(steps[first])
    found = _pattern(reference[first], step, tolerance, _names(reference[first]))
    return found[0] if found is not None else _first_difference(reference[first], step, tolerance)


def _stacked(reference: list[np.ndarray], steps: list[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Reference and answer records as two arrays, when every step is readable, finite and shaped alike."""
    readable = [_readable_step(step) for step in steps]
    if not reference or any(
        step is None or step.shape != ref.shape or not np.all(np.isfinite(step))
        for step, ref in zip(readable, reference, strict=True)
    ):
        return None
    return np.stack(reference), np.stack(readable)


def _trajectory_diagnosis(reference: list[np.ndarray], steps: list[Any], tolerance: Tolerance) -> str:
    def share_matching(offset: int) -> float:
        pairs = [
            (reference[i + offset], steps[i]) for i in range(len(steps)) if 0 <= i + offset < len(reference)
        ]
        return sum(_step_matches(ref, step, tolerance) for ref, step in pairs) / max(len(pairs), 1)

    if share_matching(+1) >= DIAGNOSIS_SHARE:
        return "your record runs one step ahead: is each value recorded before its step is taken?"
    if share_matching(-1) >= DIAGNOSIS_SHARE:
        return "your record runs one step behind: is each value recorded after its step, as the task asks?"
    record = _stacked(reference[: len(steps)], steps[: len(reference)])
    if record is None:
        return ""
    found = _pattern(*record, tolerance, RECORD)
    if found is not None and found[1]:
        return found[1]
    return UPHILL if _went_uphill(*record) else ""


def _went_uphill(reference: np.ndarray, answer: np.ndarray) -> bool:
    """The reference record falls (values) or converges (points), while the answer's rises by more than the
    reference falls, or moves away to end twice as far from the reference's end point as it ever was, and
    its very first step already went the wrong way (a run whose first step is right and whose later steps
    overshoot has another cause, such as a gradient that was never zeroed)."""
    if len(reference) < 2:
        return False
    if reference[0].size == 1:
        fall = reference[0].item() - reference[-1].item()
        first_step_up = answer[1].item() > answer[0].item()
        return bool(fall > 0 and first_step_up and answer[-1].item() - answer[0].item() > fall)
    goal = reference[-1]
    farthest = max(float(np.linalg.norm(point - goal)) for point in reference)
    start, end = np.linalg.norm(answer[0] - goal), np.linalg.norm(answer[-1] - goal)
    first_step_away = np.linalg.norm(answer[1] - goal) > start
    return bool(farthest > 0 and first_step_away and end > max(start, 2 * farthest))


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
        return "the same number of values in another shape: is a dimension missing, extra or reshaped?"
    return ""
