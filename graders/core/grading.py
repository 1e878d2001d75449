"""Turn an answer mapping into per-key points and messages, using each notebook's specs."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graders.core import kinds
from graders.core.loader import Rejected, load_answers
from graders.core.paths import answers_dir
from graders.core.tolerances import CLOSE, Tolerance


@dataclass(frozen=True)
class Spec:
    """How one answer key is graded: its kind, tolerance, points and the likely mistake to suggest."""

    kind: kinds.Kind
    points: float
    tolerance: Tolerance = CLOSE
    hint: str = ""
    # Keys whose answers this one measures (e.g. a gap to the optimum of the product it rests on): it
    # earns its points only while they earn all of theirs, so a value right on every instance (a gap
    # near zero) counts only for a student who solved their own instance.
    rests_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyResult:
    """Points earned for one key, the message that explains them, and its cause: the likely mistake (or
    the reason nothing could be graded) that the class overview groups students by; '' when it passed."""

    key: str
    earned: float
    points: float
    message: str
    cause: str = ""

    @property
    def passed(self) -> bool:
        return self.earned == self.points


MISSING = "missing: did its task cell run before the answers were saved?"
# The cause of a wrong answer whose mistake neither its kind nor its spec's hint names.
UNRECOGNISED = "wrong, with no likely mistake recognised"


class ReferenceUnavailable(LookupError):
    """The reference answers are not on this machine (an instructor may keep them private)."""


def load_reference(notebook: str) -> dict[str, Any]:
    """The reference answers made by executing the solution notebook."""
    path = answers_dir() / f"{notebook}.json"
    if not path.is_file():
        raise ReferenceUnavailable(f"no reference answers for {notebook} at {path}")
    return load_answers(path)


def grade_value(key: str, spec: Spec, expected: Any, answers: Mapping[str, Any]) -> KeyResult:
    """Grade one key of a student's answers against its reference value."""
    if key not in answers:
        return KeyResult(key, 0.0, spec.points, MISSING, MISSING)
    value = answers[key]
    if isinstance(value, Rejected):
        return KeyResult(key, 0.0, spec.points, value.reason, value.reason)
    verdict = spec.kind(expected, value, spec.tolerance)
    likely_mistake = verdict.diagnosis or (spec.hint if verdict.fraction < 1 else "")
    message = verdict.message + (f" ({likely_mistake})" if likely_mistake else "")
    # The verdict's message holds the student's numbers; the likely mistake is what students share.
    cause = "" if verdict.fraction == 1 else likely_mistake or UNRECOGNISED
    return KeyResult(key, round(spec.points * verdict.fraction, 4), spec.points, message, cause)


def grade_answers(
    specs: Mapping[str, Spec],
    reference: Mapping[str, Any],
    answers: Mapping[str, Any],
    keys: Iterable[str] | None = None,
) -> list[KeyResult]:
    """Grade the given keys (all of the specs by default)."""
    chosen = list(specs) if keys is None else list(keys)
    return [
        _resting(grade_value(key, specs[key], reference[key], answers), specs, reference, answers)
        for key in chosen
    ]


def _resting(
    result: KeyResult, specs: Mapping[str, Spec], reference: Mapping[str, Any], answers: Mapping[str, Any]
) -> KeyResult:
    """The result, or no points when a key it rests on is not right yet (Spec.rests_on)."""
    unsolved = [
        key
        for key in specs[result.key].rests_on
        if not grade_value(key, specs[key], reference[key], answers).passed
    ]
    if not result.earned or not unsolved:
        return result
    message = f"not counted yet: it measures {', '.join(unsolved)}, which is not right yet; fix that first"
    return KeyResult(result.key, 0.0, result.points, message, message)


def total(results: Iterable[KeyResult]) -> tuple[float, float]:
    """Points earned and points possible."""
    results = list(results)
    return round(sum(r.earned for r in results), 4), sum(r.points for r in results)


def describe(result: KeyResult) -> str:
    """One line a student can act on."""
    mark = "✓" if result.passed else "✗"
    return f"{mark} {result.key} [{result.earned:g}/{result.points:g}]: {result.message}"
